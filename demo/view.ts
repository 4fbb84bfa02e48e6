// The canvas: the image and the mask overlay (ImageBitmaps the worker made, drawn scaled, never read
// pixel by pixel here), the prompt box and points; a drag draws a box, a click adds a point,
// shift-click a negative one. Coordinates are original-image pixels.
import type { Box, Point } from 'sam-unet-webgpu';

export type PromptEdit = { box: Box } | { point: Point };

export class ImageView {
  private readonly ctx: CanvasRenderingContext2D;
  private image: ImageBitmap | null = null;
  private mask: ImageBitmap | null = null;
  private size: { width: number; height: number } | null = null;
  private scale = 1;
  private box: Box | null = null;
  private points: readonly Point[] = [];
  private dragBox: Box | null = null;
  private down: { x: number; y: number; cx: number; cy: number; shift: boolean } | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onEdit: (edit: PromptEdit) => void,
  ) {
    this.ctx = canvas.getContext('2d')!;
    canvas.addEventListener('mousedown', (e) => this.press(e));
    window.addEventListener('mousemove', (e) => this.move(e));
    window.addEventListener('mouseup', (e) => this.release(e));
  }

  /** A new image (its bitmap; the old one is closed). Clears the mask. */
  setImage(bitmap: ImageBitmap, width: number, height: number): void {
    this.image?.close();
    this.image = bitmap;
    this.size = { width, height };
    this.scale = Math.max(1, Math.min(4, Math.floor(640 / Math.max(width, height))));
    this.canvas.width = width * this.scale;
    this.canvas.height = height * this.scale;
    this.setMask(null);
  }

  /** The mask overlay to draw (the old one is closed), or null. */
  setMask(bitmap: ImageBitmap | null): void {
    if (this.mask !== bitmap) this.mask?.close();
    this.mask = bitmap;
    this.render();
  }

  setPrompts(box: Box | null, points: readonly Point[]): void {
    this.box = box;
    this.points = points;
    this.render();
  }

  render(): void {
    const { ctx, canvas } = this;
    if (!this.image) return;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(this.image, 0, 0, canvas.width, canvas.height);
    if (this.mask) ctx.drawImage(this.mask, 0, 0, canvas.width, canvas.height);
    const s = this.scale;
    const box = this.dragBox ?? this.box;
    if (box) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = this.dragBox ? '#9fd0ff' : '#3a8ee6';
      ctx.setLineDash(this.dragBox ? [6, 4] : []);
      ctx.strokeRect(box[0] * s, box[1] * s, (box[2] - box[0]) * s, (box[3] - box[1]) * s);
      ctx.setLineDash([]);
    }
    for (const [x, y, label] of this.points) {
      ctx.beginPath();
      ctx.arc(x * s, y * s, 5, 0, 2 * Math.PI);
      ctx.fillStyle = label ? '#27c24c' : '#e23b3b';
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#fff';
      ctx.stroke();
    }
  }

  /** A mouse position in original-image pixels, clamped to the image. */
  private imagePoint(e: MouseEvent): [number, number] {
    const rect = this.canvas.getBoundingClientRect();
    const { width, height } = this.size!;
    const x = ((e.clientX - rect.left) / rect.width) * width;
    const y = ((e.clientY - rect.top) / rect.height) * height;
    return [Math.min(width, Math.max(0, x)), Math.min(height, Math.max(0, y))];
  }

  private press(e: MouseEvent): void {
    if (!this.size || e.button !== 0) return;
    e.preventDefault();
    const [x, y] = this.imagePoint(e);
    this.down = { x, y, cx: e.clientX, cy: e.clientY, shift: e.shiftKey };
  }

  private move(e: MouseEvent): void {
    const d = this.down;
    if (!d || Math.hypot(e.clientX - d.cx, e.clientY - d.cy) < 4) return;
    const [x, y] = this.imagePoint(e);
    this.dragBox = [Math.min(d.x, x), Math.min(d.y, y), Math.max(d.x, x), Math.max(d.y, y)];
    this.render();
  }

  private release(e: MouseEvent): void {
    const d = this.down;
    if (!d) return;
    this.down = null;
    const box = this.dragBox;
    this.dragBox = null;
    if (box && box[2] - box[0] >= 1 && box[3] - box[1] >= 1) this.onEdit({ box });
    else this.onEdit({ point: [d.x, d.y, d.shift || e.shiftKey ? 0 : 1] });
  }
}
