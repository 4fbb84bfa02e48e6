"""MedSAM's intensity pre-processing (bowang-lab/MedSAM pre_CT_MR.py at d71e8a1, L46-49 and
L97-118, copied), applied to a NIfTI volume read by nibabel (the first one of a 4-D file); writes the uint8 result, i fastest.

usage: window_ref.py FILE.nii[.gz] CT|MR OUT.u8
"""
import sys

import nibabel as nib
import numpy as np

path, modality, out = sys.argv[1:4]
image_data = np.asanyarray(nib.load(path).dataobj).astype(np.float64)
while image_data.ndim > 3:  # a 4-D file: the first volume, as readNifti reads it
    image_data = image_data[..., 0]
WINDOW_LEVEL = 40  # only for CT images
WINDOW_WIDTH = 400  # only for CT images
if modality == "CT":
    lower_bound = WINDOW_LEVEL - WINDOW_WIDTH / 2
    upper_bound = WINDOW_LEVEL + WINDOW_WIDTH / 2
    image_data_pre = np.clip(image_data, lower_bound, upper_bound)
    image_data_pre = (image_data_pre - np.min(image_data_pre)) / (np.max(image_data_pre) - np.min(image_data_pre)) * 255.0
else:
    lower_bound, upper_bound = np.percentile(image_data[image_data > 0], 0.5), np.percentile(image_data[image_data > 0], 99.5)
    image_data_pre = np.clip(image_data, lower_bound, upper_bound)
    image_data_pre = (image_data_pre - np.min(image_data_pre)) / (np.max(image_data_pre) - np.min(image_data_pre)) * 255.0
    image_data_pre[image_data == 0] = 0
image_data_pre = np.uint8(image_data_pre)
image_data_pre.ravel(order="F").tofile(out)
