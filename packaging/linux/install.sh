#!/usr/bin/env bash
# Install the one-folder build (dist/photoclust from `make package`) for the current user:
# the program in ~/.local/opt/photoclust, `photoclust` on the PATH (~/.local/bin), the menu entry,
# the AppStream metadata and the icon in every size. PREFIX=/usr/local (as root) installs for all.
# Uninstall: packaging/linux/install.sh --uninstall (same PREFIX).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
APP_ID=io.github.photoclust.Photoclust
DIST="${DIST:-$REPO/dist/photoclust}"
ICONS="$REPO/photoclust/resources"
SIZES="16 24 32 48 64 128 256 512"

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$PREFIX/opt/photoclust"
    rm -f "$PREFIX/bin/photoclust" "$PREFIX/share/applications/photoclust.desktop" \
        "$PREFIX/share/metainfo/$APP_ID.metainfo.xml" \
        "$PREFIX/share/icons/hicolor/scalable/apps/$APP_ID.svg"
    for size in $SIZES; do rm -f "$PREFIX/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"; done
    echo "photoclust removed from $PREFIX (your libraries and photos were not touched)"
    exit 0
fi

if [ ! -x "$DIST/photoclust" ]; then
    echo "no build at $DIST: run 'make package' first" >&2
    exit 1
fi
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/metainfo"
rm -rf "$PREFIX/opt/photoclust"
cp -a "$DIST" "$PREFIX/opt/photoclust"
ln -sfn "$PREFIX/opt/photoclust/photoclust" "$PREFIX/bin/photoclust"
# The menu entry runs the installed program by absolute path: ~/.local/bin is not always on the
# PATH of the desktop session.
sed -e "s|^Exec=photoclust|Exec=$PREFIX/bin/photoclust|" -e "s|^TryExec=photoclust|TryExec=$PREFIX/bin/photoclust|" \
    "$REPO/packaging/linux/photoclust.desktop" > "$PREFIX/share/applications/photoclust.desktop"
cp "$REPO/packaging/linux/$APP_ID.metainfo.xml" "$PREFIX/share/metainfo/"
install -Dm644 "$ICONS/app-icon.svg" "$PREFIX/share/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in $SIZES; do
    if [ -f "$ICONS/app-icon-$size.png" ]; then
        install -Dm644 "$ICONS/app-icon-$size.png" \
            "$PREFIX/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    fi
done
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
echo "installed: $PREFIX/bin/photoclust and the photoclust menu entry"
