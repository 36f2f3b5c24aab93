import { toMnistInput } from "./src/data/digit-framing.ts";
const g = new Float32Array(512*512).fill(0.9); for (let y = 100; y < 400; y++) for (let x = 200; x < 260; x++) g[y*512+x] = 0.1;
for (let i = 0; i < 5; i++) toMnistInput(g, 512, 512);
let t0 = performance.now(); for (let i = 0; i < 20; i++) toMnistInput(g, 512, 512); console.log("frame 512x512", ((performance.now()-t0)/20).toFixed(2), "ms");
t0 = performance.now(); for (let i = 0; i < 20; i++) toMnistInput(g, 512, 512, {frame: false}); console.log("noframe 512x512", ((performance.now()-t0)/20).toFixed(2), "ms");
