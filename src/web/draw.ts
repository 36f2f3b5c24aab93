// The drawing pad: pointer strokes (mouse, pen, touch) as white lines on black, with undo and clear.

type Point = [number, number];

export class DrawingPad {
  private strokes: Point[][] = [];
  private current: Point[] | null = null;
  /** An uploaded picture shown under the strokes (cleared by clear()). */
  private background: ImageBitmap | null = null;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Called when a stroke ends or the drawing changes. */
    private readonly changed: () => void,
  ) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("2D canvas is not available");
    this.ctx = ctx;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", () => this.up());
    canvas.addEventListener("pointercancel", () => this.up());
    this.redraw();
  }

  get empty(): boolean {
    return this.strokes.length === 0 && this.background === null;
  }

  undo(): void {
    this.strokes.pop();
    this.redraw();
    this.changed();
  }

  /** Shows an uploaded picture on the pad in place of the drawing, so the pad shows the last query. */
  show(picture: ImageBitmap): void {
    this.strokes = [];
    this.background = picture;
    this.redraw();
  }

  clear(): void {
    this.strokes = [];
    this.background = null;
    this.redraw();
    this.changed();
  }

  /** The drawing as a PNG the size of the canvas. */
  toBlob(): Promise<Blob> {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob(
        (b) => (b ? resolve(b) : reject(new Error("canvas export failed"))),
        "image/png",
      ),
    );
  }

  private point(e: PointerEvent): Point {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) / r.width) * this.canvas.width,
      ((e.clientY - r.top) / r.height) * this.canvas.height,
    ];
  }

  private down(e: PointerEvent): void {
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.current = [this.point(e)];
    this.strokes.push(this.current);
    this.redraw();
  }

  private move(e: PointerEvent): void {
    if (!this.current) return;
    this.current.push(this.point(e));
    this.redraw();
  }

  private up(): void {
    if (!this.current) return;
    this.current = null;
    this.changed();
  }

  private redraw(): void {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (this.background) {
      const { width, height } = this.background;
      const scale = Math.min(canvas.width / width, canvas.height / height);
      const [w, h] = [width * scale, height * scale];
      ctx.drawImage(this.background, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
    }
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineWidth = canvas.width / 14;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of this.strokes) {
      ctx.beginPath();
      ctx.moveTo(stroke[0][0], stroke[0][1]);
      if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
      for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
      ctx.stroke();
    }
  }
}
