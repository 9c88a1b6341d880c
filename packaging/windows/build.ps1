# Build the Windows one-folder app (dist\photoclust\photoclust.exe) and, when Inno Setup is
# installed, the installer (dist\photoclust-setup.exe). Run from the repository root in PowerShell:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# $env:TORCH_SPEC picks the torch build (default: the CPU/CUDA build pip chooses for Windows).
$ErrorActionPreference = "Stop"
$torchSpec = if ($env:TORCH_SPEC) { $env:TORCH_SPEC } else { "torch torchvision" }
py -3.11 -m venv .venv-build
.\.venv-build\Scripts\python.exe -m pip install --upgrade pip wheel
.\.venv-build\Scripts\python.exe -m pip install $torchSpec.Split(" ")
.\.venv-build\Scripts\python.exe -m pip install ".[package]"
.\.venv-build\Scripts\python.exe packaging\build_models.py build\models
.\.venv-build\Scripts\pyinstaller.exe --noconfirm photoclust.spec
.\dist\photoclust\photoclust.exe --version
$iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
if (Test-Path $iscc) { & $iscc packaging\windows\photoclust.iss } else { Write-Host "Inno Setup 6 not found: skipped the installer" }
