; Inno Setup 6 script: a per-user installer for dist\photoclust (built by photoclust.spec).
; Compile from the repository root: "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\photoclust.iss
#define AppVersion "0.1.0"

[Setup]
AppId={{6F0C2C57-4E0B-4D8E-9C55-2B7C1A3E9D41}
AppName=photoclust
AppVersion={#AppVersion}
AppPublisher=photoclust contributors
DefaultDirName={localappdata}\Programs\photoclust
DefaultGroupName=photoclust
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=photoclust-setup
SetupIconFile=..\..\build\icons\photoclust.ico
UninstallDisplayIcon={app}\photoclust-gui.exe
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible

[Files]
Source: "..\..\dist\photoclust\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\photoclust"; Filename: "{app}\photoclust-gui.exe"; Parameters: "gui"
Name: "{autodesktop}\photoclust"; Filename: "{app}\photoclust-gui.exe"; Parameters: "gui"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\photoclust-gui.exe"; Parameters: "gui"; Description: "Start photoclust"; Flags: nowait postinstall skipifsilent
