// The Classify and Why views: one image (drawn, chosen, dropped or pasted) goes to /classify,
// /taylornet/predict and /explain at once; the answers are shown side by side and level by level.
import {
  ApiError,
  type ClassifyAnswer,
  type ExplainAnswer,
  type PredictAnswer,
  postImage,
} from "./api.js";
import { bars, byId, clear, fixed, h } from "./dom.js";
import { DrawingPad } from "./draw.js";

export interface ClassifyContext {
  /** The served classes (from /references), for one bar per class. */
  classes(): string[];
  /** Called after a query with an explanation, to point at the Why view. */
  explained(): void;
}

const isUnknown = (a: { label: string; unknown?: boolean }) =>
  a.unknown === true || a.label === "unknown";

function message(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status} ${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function answerHeader(label: string, unknown: boolean, detail: string): HTMLElement {
  return h(
    "p",
    { class: "answer" },
    h(
      "span",
      { class: unknown ? "label unknown" : "label", "data-testid": "label" },
      unknown ? "unknown" : label,
    ),
    h("span", { class: "detail" }, detail),
  );
}

function renderClassify(card: HTMLElement, a: ClassifyAnswer, classes: string[]): void {
  const best = new Map<string, number>();
  for (const n of a.topK) if (!best.has(n.label)) best.set(n.label, n.similarity);
  const names = classes.length ? classes : [...best.keys()];
  clear(
    card,
    h("h2", {}, "Distilled references ", h("code", {}, "/classify")),
    answerHeader(
      a.label,
      isUnknown(a),
      `cosine similarity ${fixed(a.similarity)} at level L${a.references.level}`,
    ),
    bars(
      "Best cosine similarity per class",
      names.map((label) => {
        const v = best.get(label);
        return {
          label,
          value: v ?? null,
          text: v === undefined ? "—" : fixed(v),
          best: label === a.label,
        };
      }),
    ),
    h(
      "p",
      { class: "meta" },
      `${a.model.name} ${a.model.version} · references ${a.references.version}`,
    ),
  );
}

function renderPredict(card: HTMLElement, a: PredictAnswer): void {
  const entries = Object.entries(a.probabilities);
  clear(
    card,
    h("h2", {}, "TaylorNet ", h("code", {}, "/taylornet/predict")),
    answerHeader(
      a.label,
      isUnknown(a),
      `probability ${fixed(a.probabilities[a.label] ?? Number.NaN)}`,
    ),
    bars(
      "Probability per class",
      entries.map(([label, p]) => ({ label, value: p, text: fixed(p), best: label === a.label })),
    ),
    h("p", { class: "meta" }, `${a.model.name} ${a.model.version}`),
  );
}

function renderFailure(card: HTMLElement, title: (Node | string)[], error: unknown): void {
  clear(card, h("h2", {}, ...title), h("p", { class: "error inline" }, message(error)));
}

export function renderWhy(container: HTMLElement, a: ExplainAnswer, original: string | null): void {
  const steps = [
    a.preprocessing.inverted ? "inverted (light background)" : "not inverted",
    a.preprocessing.framed
      ? "framed (cropped to the content, scaled and centred by mass)"
      : "not framed",
  ];
  const input = h(
    "figure",
    { class: "seen" },
    h(
      "div",
      { class: "pair" },
      original
        ? h("img", { src: original, alt: "Your input as uploaded", class: "original" })
        : null,
      h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
      h("img", {
        src: a.input.png,
        alt: `The input as the model saw it: ${a.input.width}×${a.input.height} pixels`,
        class: "pixelated",
        "data-testid": "model-input",
      }),
    ),
    h(
      "figcaption",
      {},
      `As ${a.model.name} saw it: decoded, ${steps.join(", ")}, ${a.input.width}×${a.input.height}.`,
    ),
  );
  const levels = a.levels.map((l) =>
    h(
      "li",
      { class: "level", "data-level": l.level },
      h(
        "h3",
        {},
        `L${l.level}`,
        h("span", { class: "detail" }, ` nearest: ${l.label} (${fixed(l.similarity)})`),
      ),
      h(
        "ul",
        { class: "tiles", "aria-label": `Nearest references at level ${l.level}` },
        ...l.neighbours.map((n, i) =>
          h(
            "li",
            { class: i === 0 ? "tile first" : "tile" },
            h("img", {
              src: n.image ?? "",
              alt: `Level ${l.level} reference ${n.referenceId}, class ${n.label}`,
              class: "pixelated",
              loading: "lazy",
            }),
            h("span", {}, `${n.label} · ${fixed(n.similarity, 2)}`),
          ),
        ),
      ),
    ),
  );
  clear(
    container,
    h("h2", {}, "Why this answer"),
    h(
      "p",
      { class: "hint" },
      "From many concrete references (L1) to one abstract image per class (the highest level): the nearest by angle at each level, most similar first.",
    ),
    h("div", { class: "why-grid" }, input, h("ol", { class: "levels" }, ...levels)),
  );
}

export function setupClassify(ctx: ClassifyContext): void {
  const errorBox = byId("error");
  const classifyCard = byId("classify-result");
  const predictCard = byId("taylornet-result");
  const why = byId("why");
  let running = 0;

  const showError = (text: string | null) => {
    errorBox.hidden = text === null;
    errorBox.textContent = text ?? "";
  };

  async function query(image: Blob, name: string): Promise<void> {
    const id = ++running;
    showError(null);
    classifyCard.setAttribute("aria-busy", "true");
    predictCard.setAttribute("aria-busy", "true");
    const original = URL.createObjectURL(image);
    const [c, p, e] = await Promise.allSettled([
      postImage<ClassifyAnswer>("/classify?k=100", image, name),
      postImage<PredictAnswer>("/taylornet/predict", image, name),
      postImage<ExplainAnswer>("/explain?k=5", image, name),
    ]);
    if (id !== running) return;
    classifyCard.removeAttribute("aria-busy");
    predictCard.removeAttribute("aria-busy");
    if (c.status === "fulfilled") renderClassify(classifyCard, c.value, ctx.classes());
    else
      renderFailure(classifyCard, ["Distilled references ", h("code", {}, "/classify")], c.reason);
    if (p.status === "fulfilled") renderPredict(predictCard, p.value);
    else renderFailure(predictCard, ["TaylorNet ", h("code", {}, "/taylornet/predict")], p.reason);
    if (e.status === "fulfilled") {
      renderWhy(why, e.value, original);
      ctx.explained();
    }
    const first = [c, p, e].find((r) => r.status === "rejected");
    if (first) showError(`The service said: ${message(first.reason)}`);
  }

  const pad = new DrawingPad(byId<HTMLCanvasElement>("pad"), () => undefined);
  const classifyDrawing = async () => {
    if (pad.empty) return showError("Draw something first.");
    await query(await pad.toBlob(), "drawing.png");
  };
  byId("undo").addEventListener("click", () => pad.undo());
  byId("clear").addEventListener("click", () => pad.clear());
  byId("classify-drawing").addEventListener("click", classifyDrawing);
  byId("pad").addEventListener("pointerup", () => void classifyDrawing());

  const fileInput = byId<HTMLInputElement>("file");
  const fileName = byId("file-name");
  const useFile = (file: File) => {
    const preview = file.type.startsWith("image/")
      ? h("img", { src: URL.createObjectURL(file), alt: "", class: "thumb" })
      : null;
    clear(fileName, preview, file.name || "pasted image");
    createImageBitmap(file).then(
      (picture) => pad.show(picture),
      () => undefined, // not an image the browser reads: the service's answer says why
    );
    void query(file, file.name || "upload");
  };
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file) useFile(file);
  });
  const zone = byId("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) useFile(file);
  });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === "file");
    const file = item?.getAsFile();
    if (file) useFile(file);
  });
}
