// Small DOM helpers: element creation without innerHTML (no markup injection), bars, numbers.

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
}

export const fixed = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

/** One labelled horizontal bar per class; `value` in [0, 1] sets the width, `text` is shown. */
export function bars(
  caption: string,
  rows: { label: string; value: number | null; text: string; best?: boolean }[],
): HTMLElement {
  return h(
    "table",
    { class: "bars" },
    h("caption", { class: "sr-only" }, caption),
    h(
      "thead",
      { class: "sr-only" },
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Class"),
        h("th", { scope: "col" }, "Bar"),
        h("th", { scope: "col" }, "Value"),
      ),
    ),
    h(
      "tbody",
      {},
      ...rows.map((r) => {
        const width = r.value === null ? 0 : Math.max(0, Math.min(1, r.value)) * 100;
        const bar = h("span", { class: r.best ? "bar best" : "bar" });
        bar.style.width = `${width}%`;
        return h(
          "tr",
          { class: r.best ? "best" : undefined },
          h("th", { scope: "row" }, r.label),
          h("td", { class: "track" }, bar),
          h("td", { class: "num" }, r.text),
        );
      }),
    ),
  );
}

export function clear(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => !!c));
}
