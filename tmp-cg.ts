import { performance } from "node:perf_hooks";
import { taylorNetSpec } from "./src/nn/taylornet.js";
import { initWeights } from "./src/nn/weights.js";
import { writeOnnxModel } from "./src/onnx/export.js";
import { loadOnnxModel } from "./src/onnx/runtime.js";
for (const arch of ["mnist28", "mnist7"]) {
  const spec = taylorNetSpec(arch); const w = initWeights(spec, 1);
  for (const mode of ["slice", "matmul", "depthwise", "slice", "matmul"] as const) {
    await writeOnnxModel(`/tmp/t-${mode}.onnx`, spec, w, { cgMode: mode });
    const m = await loadOnnxModel(`/tmp/t-${mode}.onnx`, { intraOpNumThreads: 1 });
    const out: string[] = [];
    for (const n of [1, 8, 64]) {
      const x = Float32Array.from({ length: n * spec.input.reduce((a, b) => a * b) }, Math.random);
      await m.run(x, n);
      const reps = Math.max(2, Math.round((arch === "mnist7" ? 2000 : 100) / n));
      const t = performance.now(); for (let i = 0; i < reps; i++) await m.run(x, n);
      out.push(`b${n}: ${Math.round(reps * n / ((performance.now() - t) / 1000))}/s`);
    }
    console.log(arch, mode, out.join("  "));
    await m.close();
  }
}
