// Script endings: usage errors are one line with exit code 2, runtime failures exit code 1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BackendError } from "../src/nn/backend.js";
import { CliError, failure, input, isKnownError } from "../src/util/cli.js";
import { boolean, choice, int, number, parseFlags, string } from "../src/util/flags.js";

test("a flag table returns typed values and rejects unknown flags", () => {
  const table = { epochs: string("epochs"), fast: boolean("fast") };
  const v = parseFlags(table, ["--epochs", "3", "--fast"]);
  assert.equal(v.epochs, "3");
  assert.equal(v.fast, true);
  assert.throws(() => parseFlags(table, ["--epoch", "3"]), CliError);
});

test("flag value checks name the flag", () => {
  const batch = { batch: int("batch size", { default: 64, min: 1 }) };
  assert.equal(parseFlags(batch, []).batch, 64);
  assert.equal(parseFlags(batch, ["--batch", "8"]).batch, 8);
  assert.throws(() => parseFlags(batch, ["--batch", "2.5"]), /--batch must be an integer/);
  assert.throws(
    () => parseFlags(batch, ["--batch", "0"]),
    /--batch must be an integer ≥ 1, got "0"/,
  );
  const lr = { lr: number("learning rate", { default: 0.1 }) };
  assert.equal(parseFlags(lr, ["--lr", "1e-3"]).lr, 0.001);
  assert.throws(() => parseFlags(lr, ["--lr", "fast"]), /--lr must be a number/);
  const optimizer = { optimizer: choice(["adam", "sgd"], "optimiser", { default: "adam" }) };
  assert.equal(parseFlags(optimizer, ["--optimizer", "sgd"]).optimizer, "sgd");
  assert.throws(() => parseFlags(optimizer, ["--optimizer", "rmsprop"]), /adam, sgd/);
});

test("known errors are the project's own classes and file errors", () => {
  assert.ok(isKnownError(new CliError("x")));
  assert.ok(isKnownError(new BackendError("x")));
  assert.ok(isKnownError(Object.assign(new Error("no file"), { code: "ENOENT" })));
  assert.ok(!isKnownError(new TypeError("bug")));
  assert.ok(!isKnownError("text"));
});

test("usage errors exit 2 on one line; runtime failures exit 1, with the stack for bugs", async () => {
  assert.deepEqual(failure("x", new CliError("--data is missing")), {
    code: 2,
    text: "x: --data is missing\n",
  });
  assert.deepEqual(failure("x", new BackendError("no wasm\nmore")), {
    code: 1,
    text: "x: no wasm\n",
  });
  const bug = failure("x", new TypeError("undefined is not a function"));
  assert.equal(bug.code, 1);
  assert.match(bug.text, /^x: TypeError: undefined is not a function\n {4}at /);
  await assert.rejects(
    input(Promise.reject(new Error("data/x: no such file\nstack"))),
    (e: Error) => e instanceof CliError && e.message === "data/x: no such file",
  );
  assert.equal(await input(() => 3), 3);
});

test("runScript() ends a usage error with one line and exit code 2", () => {
  const code = `import { runScript, CliError } from "./src/util/cli.ts";
runScript("demo", () => { throw new CliError("--data is missing"); });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    encoding: "utf8",
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), "demo: --data is missing");
});
