// A scalar 3-D scan on a regular grid: what the DICOM series and NIfTI readers produce and what
// volume segmentation (propagation, label-map export) consumes. The contract between those
// modules; keep it small.
//
// Index order: voxel (i, j, k) is data[i + ni·(j + nj·k)], i fastest (NIfTI's and ITK's order; for a
// DICOM series i runs along a row (columns), j down the rows, k over the sorted slices).
// World coordinates: millimetres in RAS+, the NIfTI / nibabel convention: +x toward the patient's
// Right, +y Anterior, +z Superior. DICOM's patient coordinates are LPS (+x toward the Left, +y
// Posterior): a DICOM reader converts by negating the x and y rows of its matrix.

/** The 4×4 voxel-to-world matrix, row-major: world = A · [i, j, k, 1]ᵀ (nibabel's `img.affine`). */
export type Affine = Float64Array;

/** Where a volume came from: what an exporter needs to write results that reference it. */
export type VolumeSource =
  | {
      kind: 'nifti';
      /** 1 or 2 */
      version: number;
      /** The form codes the affine came from ('sform' preferred when its code > 0, as nibabel does). */
      affineFrom: 'sform' | 'qform' | 'pixdim';
      /** Header fields worth carrying into an output (descrip, xyzt_units, intent, …). */
      header?: Record<string, unknown>;
    }
  | {
      kind: 'dicom';
      studyInstanceUID: string;
      seriesInstanceUID: string;
      frameOfReferenceUID?: string;
      /** SOP Class UID of the source images (CT Image Storage, MR Image Storage, …). */
      sopClassUID: string;
      /** Per slice k (in volume order): the SOP Instance UID of the image it came from, and its frame number (1-based) for multi-frame files. */
      instances: readonly { sopInstanceUID: string; frame?: number }[];
      /** Patient / study attributes to copy into derived objects (PatientName, PatientID, PatientBirthDate, PatientSex, StudyDate, StudyTime, StudyID, AccessionNumber, ReferringPhysicianName, …), as strings. */
      patient: Readonly<Record<string, string>>;
      /** ImageOrientationPatient (LPS row then column direction cosines) of the series. */
      orientation: readonly number[];
    };

export interface Volume {
  /** Voxel counts along i, j, k. */
  readonly dims: readonly [number, number, number];
  /**
   * Values in physical units: CT in Hounsfield units (Rescale Slope / Intercept applied), NIfTI after
   * scl_slope / scl_inter. Finite (a reader rejects NaN/Inf or documents what it maps them to).
   */
  readonly data: Float32Array;
  /** Voxel to world, RAS+ mm (see the header of this file). */
  readonly affine: Affine;
  /** Voxel size along i, j, k in mm (the column norms of the affine's 3×3 part). */
  readonly spacing: readonly [number, number, number];
  /** 'CT', 'MR', 'PT', 'US', … as DICOM's Modality; 'unknown' when the file does not say (NIfTI). */
  readonly modality: string;
  /** The file's own display window (DICOM WindowCenter / WindowWidth, first value), when it has one. */
  readonly window?: { readonly center: number; readonly width: number };
  /** DICOM MONOCHROME1: higher values are shown darker (window-to-RGB inverts). */
  readonly invert?: boolean;
  /** What the reader found odd but readable (skipped files, sheared slices, …), named. */
  readonly warnings?: readonly string[];
  readonly source: VolumeSource;
}
