#!/usr/bin/env bash
# Build dist/photoclust.app and dist/photoclust.dmg on macOS (Apple silicon or Intel), from the
# repository root: packaging/macos/build.sh
# Signing and notarisation run when SIGN_IDENTITY ("Developer ID Application: ...") and
# NOTARY_PROFILE (a `xcrun notarytool store-credentials` profile) are set.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv .venv-build
.venv-build/bin/pip install --upgrade pip wheel
.venv-build/bin/pip install ${TORCH_SPEC:-torch torchvision}   # macOS wheels: CPU + Metal (MPS)
.venv-build/bin/pip install '.[package]'
.venv-build/bin/python packaging/build_models.py build/models   # the app ships these, not torch
.venv-build/bin/pyinstaller --noconfirm photoclust.spec
dist/photoclust/photoclust --version
if [ -n "${SIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$SIGN_IDENTITY" dist/photoclust.app
    codesign --verify --deep --strict dist/photoclust.app
fi
rm -f dist/photoclust.dmg
hdiutil create -volname photoclust -srcfolder dist/photoclust.app -ov -format UDZO dist/photoclust.dmg
if [ -n "${SIGN_IDENTITY:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit dist/photoclust.dmg --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple dist/photoclust.dmg
fi
echo "built dist/photoclust.app and dist/photoclust.dmg"
