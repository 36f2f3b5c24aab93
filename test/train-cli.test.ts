// Script helpers: typed flags, value checks, and one-line failures with exit code 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BackendError } from "../src/nn/backend.js";
import {
  CliError,
  choiceFlag,
  intFlag,
  isKnownError,
  numberFlag,
  parseCli,
} from "../src/util/cli.js";

test("parseCli returns typed values and rejects unknown flags", () => {
  const v = parseCli({ epochs: { type: "string" }, fast: { type: "boolean" } }, [
    "--epochs",
    "3",
    "--fast",
  ]);
  assert.equal(v.epochs, "3");
  assert.equal(v.fast, true);
  assert.throws(() => parseCli({ epochs: { type: "string" } }, ["--epoch", "3"]), CliError);
});

test("flag value checks name the flag", () => {
  assert.equal(intFlag(undefined, "batch", 64), 64);
  assert.equal(intFlag("8", "batch", 64, { min: 1 }), 8);
  assert.throws(() => intFlag("2.5", "batch", 64), /--batch must be an integer/);
  assert.throws(() => intFlag("0", "batch", 64, { min: 1 }), /--batch must be at least 1/);
  assert.equal(numberFlag("1e-3", "lr", 0.1), 0.001);
  assert.throws(() => numberFlag("fast", "lr", 0.1), /--lr must be a number/);
  assert.equal(choiceFlag("sgd", "optimizer", ["adam", "sgd"] as const, "adam"), "sgd");
  assert.throws(() => choiceFlag("rmsprop", "optimizer", ["adam", "sgd"], "adam"), /adam, sgd/);
});

test("known errors are the project's own classes and file errors", () => {
  assert.ok(isKnownError(new CliError("x")));
  assert.ok(isKnownError(new BackendError("x")));
  assert.ok(isKnownError(Object.assign(new Error("no file"), { code: "ENOENT" })));
  assert.ok(!isKnownError(new TypeError("bug")));
  assert.ok(!isKnownError("text"));
});

test("main() ends a known error with one line and exit code 2", () => {
  const code = `import { main, CliError } from "./src/util/cli.ts";
main(() => { throw new CliError("--data is missing"); });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    encoding: "utf8",
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), "error: --data is missing");
});
