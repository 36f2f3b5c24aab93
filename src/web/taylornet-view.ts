// The TaylorNet view: the served classifier's linear and pairwise coefficients as heat maps, the
// explicit polynomial of a small CG network, and the direct-Taylor Fig. 3 plot when the server has it.
import { ApiError, getJson } from "./api.js";
import { byId, clear, fixed, h } from "./dom.js";

interface ClassCoefficients {
  label: string;
  constant: number;
  linear: number[];
  square: number[];
  pairStrength: number[] | null;
  topPairs: { i: number; j: number; coefficient: number; monomial: string }[];
}

interface Coefficients {
  model: { name: string; version: string };
  shape: [number, number, number];
  method: { kind: string; step: number; probes: number; seconds: number };
  classes: ClassCoefficients[];
  pairsOmitted: string | null;
}

interface PolynomialAnswer {
  network: {
    name: string;
    input: number[];
    layers: { kind: string }[];
    provenance: Record<string, unknown>;
  };
  outputs: {
    output: number;
    degree: number;
    terms: number;
    top: { coefficient: number; monomial: string }[];
  }[];
}

/** Per-pixel values (channels summed) drawn as a heat map: diverging for signed, sequential otherwise. */
function heatMap(
  values: number[],
  [height, width, channels]: number[],
  label: string,
  signed: boolean,
) {
  const pixels = Array.from({ length: height * width }, (_, p) => {
    let s = 0;
    for (let c = 0; c < channels; c++) s += values[p * channels + c];
    return s;
  });
  const max = Math.max(1e-12, ...pixels.map(Math.abs));
  const canvas = h("canvas", {
    width,
    height,
    class: "heat pixelated",
    role: "img",
    "aria-label": label,
  });
  const ctx = canvas.getContext("2d");
  if (ctx) {
    const img = ctx.createImageData(width, height);
    pixels.forEach((v, p) => {
      const t = v / max;
      const [r, g, b] = signed
        ? t >= 0
          ? [255, 255 * (1 - t), 255 * (1 - t)]
          : [255 * (1 + t), 255 * (1 + t), 255]
        : [255 * (1 - 0.1 * t), 255 * (1 - 0.75 * t), 255 * (1 - t)];
      img.data.set([r, g, b, 255], p * 4);
    });
    ctx.putImageData(img, 0, 0);
  }
  return canvas;
}

function servedModel(data: Coefficients, index: number): HTMLElement {
  const c = data.classes[index];
  const peak = c.linear.reduce(
    (best, v, i) => (Math.abs(v) > Math.abs(c.linear[best]) ? i : best),
    0,
  );
  return h(
    "div",
    { class: "coefficients" },
    h(
      "div",
      { class: "maps" },
      h(
        "figure",
        {},
        heatMap(
          c.linear,
          data.shape,
          `Linear coefficients for class ${c.label}; largest at input ${peak}`,
          true,
        ),
        h(
          "figcaption",
          {},
          "Linear terms x",
          h("sub", {}, "i"),
          ": red raises, blue lowers the score",
        ),
      ),
      c.pairStrength
        ? h(
            "figure",
            {},
            heatMap(
              c.pairStrength,
              data.shape,
              `Pairwise (quadratic) weight per pixel for class ${c.label}`,
              false,
            ),
            h(
              "figcaption",
              {},
              "Σ",
              h("sub", {}, "j"),
              " |x",
              h("sub", {}, "i"),
              "x",
              h("sub", {}, "j"),
              " coefficient| per pixel",
            ),
          )
        : h("p", { class: "hint" }, `Pairs not read: ${data.pairsOmitted}`),
    ),
    c.topPairs.length
      ? h(
          "table",
          { class: "terms" },
          h("caption", {}, `Largest pixel pairs for class ${c.label}`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Pair"),
              h("th", { scope: "col", class: "num" }, "Coefficient"),
            ),
          ),
          h(
            "tbody",
            {},
            ...c.topPairs
              .slice(0, 8)
              .map((p) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("code", {}, p.monomial)),
                  h("td", { class: "num" }, fixed(p.coefficient, 3)),
                ),
              ),
          ),
        )
      : null,
  );
}

function servedCard(data: Coefficients): HTMLElement {
  const select = h(
    "select",
    { id: "coef-class" },
    ...data.classes.map((c, i) => h("option", { value: i }, c.label)),
  );
  const body = h("div", {}, servedModel(data, 0));
  select.addEventListener("change", () => clear(body, servedModel(data, Number(select.value))));
  return h(
    "div",
    { class: "card", id: "served-polynomial" },
    h("h2", {}, `${data.model.name} ${data.model.version} is a polynomial`),
    h(
      "p",
      { class: "hint" },
      `No activation functions: its coefficients at the blank image are read off by ${data.method.kind} (step ${data.method.step}, ${data.method.probes.toLocaleString("en")} probe inputs, ${fixed(data.method.seconds, 2)} s).`,
    ),
    h("div", { class: "row" }, h("label", { for: "coef-class" }, "Class"), select),
    body,
  );
}

function tinyCard(p: PolynomialAnswer): HTMLElement {
  const out = p.outputs[0];
  const layers = p.network.layers.map((l) => l.kind).join(" → ");
  return h(
    "div",
    { class: "card", id: "tiny-polynomial" },
    h("h2", {}, `A small CG network, expanded: ${p.network.name}`),
    h(
      "p",
      { class: "hint" },
      `Input ${p.network.input.join("×")} → ${layers}. Expanded symbolically: degree ${out.degree}, ${out.terms.toLocaleString("en")} terms. Trained by `,
      h("code", {}, String(p.network.provenance.command ?? "scripts/expand.ts")),
      ".",
    ),
    h(
      "table",
      { class: "terms" },
      h("caption", {}, "The largest terms by |coefficient|"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Monomial"),
          h("th", { scope: "col", class: "num" }, "Coefficient"),
        ),
      ),
      h(
        "tbody",
        {},
        ...out.top
          .slice(0, 12)
          .map((t) =>
            h(
              "tr",
              {},
              h("td", {}, h("code", {}, t.monomial)),
              h("td", { class: "num" }, fixed(t.coefficient, 3)),
            ),
          ),
      ),
    ),
  );
}

function failed(title: string, error: unknown): HTMLElement {
  const text =
    error instanceof ApiError ? `${error.message} (${error.status} ${error.code})` : String(error);
  return h("div", { class: "card" }, h("h2", {}, title), h("p", { class: "error inline" }, text));
}

export async function loadTaylorNet(): Promise<void> {
  const container = byId("taylornet");
  const [coef, poly] = await Promise.allSettled([
    getJson<Coefficients>("/taylornet/coefficients?top=12"),
    getJson<PolynomialAnswer>("/taylornet/polynomial?top=12"),
  ]);
  const fig3 = h("img", {
    src: "/taylornet/fig3.png",
    alt: "Fig. 3: quadratic weights of the order-4 direct Taylor expansion against pixel distance",
    class: "fig3",
  });
  const fig3Card = h(
    "div",
    { class: "card", id: "fig3" },
    h("h2", {}, "Direct Taylor expansion (Fig. 3)"),
    fig3,
  );
  fig3.addEventListener("error", () => fig3Card.remove());
  clear(
    container,
    h(
      "div",
      { class: "grid two" },
      coef.status === "fulfilled"
        ? servedCard(coef.value)
        : failed("The served TaylorNet", coef.reason),
      poly.status === "fulfilled"
        ? tinyCard(poly.value)
        : failed("A small CG network", poly.reason),
    ),
    fig3Card,
  );
}
