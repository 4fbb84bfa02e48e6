// The errors of the scan readers (DICOM files and series, NIfTI volumes, windowing). Every bad
// input ends in one of these, with a reason code a program can branch on and a message that names
// the problem (the tag, the field, the transfer syntax, the file).

/** Why a scan could not be read. */
export type ScanFailure =
  | 'not-dicom' // no DICM prefix and no recognisable data set
  | 'not-nifti' // no NIfTI-1/2 header
  | 'truncated' // the data ends before what the header declares
  | 'corrupt' // inconsistent or invalid structure or values
  | 'unsupported-syntax' // a DICOM transfer syntax we do not decode (the message names its UID and name)
  | 'unsupported-feature' // a valid file using something we do not read (named)
  | 'missing-pixel-data' // no Pixel Data element, or an empty one
  | 'non-finite' // NaN or ±Infinity in the values
  | 'too-large' // over the size limits
  | 'codec' // a compressed frame the codec rejected
  | 'series'; // files that do not form one regular volume (see SeriesError)

/** A DICOM file or NIfTI volume that cannot be turned into correct values. */
export class ScanError extends Error {
  override readonly name: string = 'ScanError';
  constructor(
    readonly reason: ScanFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by the DICOM readers. */
export class DicomError extends ScanError {
  override readonly name: string = 'DicomError';
}

/** Thrown by the NIfTI reader. */
export class NiftiError extends ScanError {
  override readonly name = 'NiftiError';
}

/** What is wrong with a set of DICOM files as one volume. */
export type SeriesProblem =
  | 'no-images' // no file with pixel data
  | 'several-series' // more than one SeriesInstanceUID and none chosen
  | 'unknown-series' // the chosen SeriesInstanceUID is not among the files
  | 'single-slice' // one slice is not a volume
  | 'missing-geometry' // no ImagePositionPatient / ImageOrientationPatient / PixelSpacing
  | 'mixed-orientation'
  | 'mixed-size' // rows, columns or pixel spacing differ
  | 'mixed-pixel-format' // colour and grey, or differing samples per pixel
  | 'duplicate-position'
  | 'uneven-spacing';

/** Thrown by the series reader; `problem` names which check failed. */
export class SeriesError extends DicomError {
  override readonly name = 'SeriesError';
  constructor(
    readonly problem: SeriesProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('series', message, options);
  }
}

/** The message of anything thrown (dicom-parser throws strings). */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'exception' in e) return describe((e as { exception: unknown }).exception);
  return String(e);
}
