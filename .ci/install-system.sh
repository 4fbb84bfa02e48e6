#!/usr/bin/env bash
# Installs the system packages the tests need on a fresh Debian 12 (bookworm) machine:
#  - Mesa 25 lavapipe (Vulkan on the CPU) from bookworm-backports: Dawn (npm `webgpu`)
#    rejects bookworm's own Mesa 22, and Node runs the test suite on lavapipe.
#  - Debian's chromium, for the headless-browser tests and its SwiftShader Vulkan ICD.
#  - python3-torch: the .pth reader's tests write real torch.save checkpoints (test/pth/).
#  - pydicom, nibabel, dcmtk, dcm2niix and mricron-data for the medical readers' tests.
#  - Independent readers the volume-output tests check our files with: nibabel (NIfTI), pydicom,
#    dcmtk's dcmdump and dicom3tools' dciodvfy (DICOM SEG), PIL (PNG).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'bookworm-backports' "$src"; then
  $SUDO sed -i '0,/^Suites: bookworm bookworm-updates$/s//Suites: bookworm bookworm-updates bookworm-backports/' "$src"
fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
$SUDO apt-get install -y -qq chromium libvulkan1 >/dev/null
$SUDO apt-get install -y -qq python3-torch >/dev/null
# The medical readers' test tools and the data they ship (test/medical): pydicom (+ its test files),
# nibabel (+ its test data), dcmtk, dcm2niix and the MRIcron templates.
$SUDO apt-get install -y -qq python3-pydicom python3-nibabel python3-numpy dcmtk dcm2niix mricron-data >/dev/null
# The volume outputs' independent readers (test/volume): PIL (PNG) and dicom3tools' dciodvfy (DICOM SEG).
$SUDO apt-get install -y -qq python3-pil dicom3tools >/dev/null
