import * as ort from "onnxruntime-node";
import { readFileSync } from "node:fs";
import { taylorNetSpec } from "./src/nn/taylornet.js";
import { initWeights } from "./src/nn/weights.js";
import { writeOnnxModel } from "./src/onnx/export.js";
const spec = taylorNetSpec("mnist28"); const w = initWeights(spec, 1);
await writeOnnxModel(`/tmp/p.onnx`, spec, w, { cgMode: (process.argv[2] ?? "slice") as "slice" });
const s = await ort.InferenceSession.create("/tmp/p.onnx", { intraOpNumThreads: 1, enableProfiling: true, profileFilePrefix: "/tmp/ortprof" });
const n = 64;
const x = new ort.Tensor("float32", Float32Array.from({ length: n * 784 }, Math.random), [n, 28, 28, 1]);
for (let i = 0; i < 3; i++) await s.run({ input: x });
s.endProfiling(); const { execSync } = await import("node:child_process"); const file = execSync("ls -t /tmp/ortprof* | head -1").toString().trim();
console.log(file);
const ev = JSON.parse(readFileSync(file as unknown as string, "utf8")) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
const by = new Map<string, number>();
for (const e of ev) if (e.cat === "Node" && e.name.endsWith("_kernel_time")) { const k = e.args?.op_name ?? "?"; by.set(k, (by.get(k) ?? 0) + e.dur); }
console.log([...by].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 3000).toFixed(1)}ms`).join("\n"));
const top = ev.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time")).sort((a, b) => b.dur - a.dur).slice(0, 8);
for (const e of top) console.log(e.name, (e.dur/1000).toFixed(1));
