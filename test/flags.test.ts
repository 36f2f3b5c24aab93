// The declarative flag tables (src/util/flags.ts): typed values, one error wording, --help.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { CliError } from "../src/util/cli.js";
import {
  boolean,
  choice,
  helpText,
  int,
  list,
  number,
  parseFlags,
  repeat,
  string,
  wantsHelp,
} from "../src/util/flags.js";

const TABLE = {
  epochs: int("training epochs", { default: 5, min: 1 }),
  order: int("the highest degree", { min: 1, max: 4 }),
  lr: number("learning rate", { default: 0.002, min: 0 }),
  seconds: number("seconds per case", { default: 1.5, above: 0 }),
  optimizer: choice(["adam", "sgd"], "the optimiser", { default: "adam" }),
  arch: choice(["mnist7", "mnist28"], "the architecture", { required: true }),
  out: string("output folder", { arg: "DIR" }),
  resume: boolean("continue from the checkpoint"),
  workers: list({ kind: "int", min: 1 }, "worker counts", { default: [1, 2] }),
  jitter: list({ kind: "number", min: 0 }, "shift, degrees, scale", { length: 3 }),
  variant: repeat("NAME=JSON", "NAME=JSON"),
};

const parse = (...argv: string[]) => parseFlags(TABLE, argv);
const usageError = (pattern: RegExp) => (error: unknown) =>
  error instanceof CliError && pattern.test(error.message);

test("values come typed, with defaults, from the table", () => {
  const v = parse("--arch", "mnist7", "--epochs=3", "--resume", "--variant", "a={}");
  // Compile-time: the types follow the table (a mismatch here fails `tsc`).
  const epochs: number = v.epochs;
  const order: number | undefined = v.order;
  const optimizer: "adam" | "sgd" = v.optimizer;
  const arch: "mnist7" | "mnist28" = v.arch;
  const out: string | undefined = v.out;
  const resume: boolean = v.resume;
  const workers: number[] = v.workers;
  const jitter: number[] | undefined = v.jitter;
  const variant: string[] = v.variant;
  assert.deepEqual(
    { epochs, order, optimizer, arch, out, resume, workers, jitter, variant },
    {
      epochs: 3,
      order: undefined,
      optimizer: "adam",
      arch: "mnist7",
      out: undefined,
      resume: true,
      workers: [1, 2],
      jitter: undefined,
      variant: ["a={}"],
    },
  );
  assert.equal(parse("--arch", "mnist7").resume, false);
  assert.deepEqual(parse("--arch", "mnist7").variant, []);
  assert.equal(parse("--arch", "mnist7", "--lr", "1e-3").lr, 0.001);
  assert.equal(parse("--arch", "mnist7", "--lr=-0").lr, -0);
  // Defaults are copies: changing one run's list does not change the table's.
  parse("--arch", "mnist7").workers.push(9);
  assert.deepEqual(parse("--arch", "mnist7").workers, [1, 2]);
});

test("integers and numbers: one wording with the range and the value given", () => {
  const base = ["--arch", "mnist7"];
  assert.throws(
    () => parse(...base, "--epochs", "0"),
    usageError(/^--epochs must be an integer ≥ 1, got "0"$/),
  );
  assert.throws(
    () => parse(...base, "--epochs", "2.5"),
    usageError(/^--epochs must be an integer ≥ 1, got "2.5"$/),
  );
  assert.throws(
    () => parse(...base, "--order", "9"),
    usageError(/^--order must be an integer in 1..4, got "9"$/),
  );
  assert.throws(
    () => parse(...base, "--lr", "fast"),
    usageError(/^--lr must be a number ≥ 0, got "fast"$/),
  );
  assert.throws(
    () => parse(...base, "--lr", ""),
    usageError(/^--lr must be a number ≥ 0, got ""$/),
  );
  assert.throws(
    () => parse(...base, "--seconds", "0"),
    usageError(/^--seconds must be a number > 0, got "0"$/),
  );
  assert.throws(() => parse(...base, "--lr", "Infinity"), usageError(/--lr must be a number/));
  assert.equal(parse(...base, "--order", "4").order, 4);
});

test("choices, required flags and strings", () => {
  assert.throws(
    () => parse("--arch", "mnist7", "--optimizer", "rmsprop"),
    usageError(/^--optimizer must be one of adam, sgd, got "rmsprop"$/),
  );
  assert.throws(() => parse(), usageError(/^--arch is required \(one of mnist7, mnist28\)$/));
  assert.throws(
    () => parse("--arch", "mnist7", "--out="),
    usageError(/^--out must be a non-empty string, got ""$/),
  );
  assert.throws(() => parse("--arch", "mnist7", "--out"), usageError(/^--out needs a value/));
  assert.throws(
    () => parse("--arch", "mnist7", "--out", "--resume"),
    usageError(/^--out needs a value/),
  );
  assert.throws(
    () => parse("--arch", "mnist7", "--resume=yes"),
    usageError(/^--resume takes no value$/),
  );
  assert.equal(parse("--arch", "mnist7", "--epochs", "1", "--epochs", "2").epochs, 2);
});

test("lists check every element and their count", () => {
  const base = ["--arch", "mnist7"];
  assert.deepEqual(parse(...base, "--workers", "1, 4").workers, [1, 4]);
  assert.throws(
    () => parse(...base, "--workers", "1,0"),
    usageError(/^--workers must be a comma-separated list \(each an integer ≥ 1\), got "1,0"$/),
  );
  assert.deepEqual(parse(...base, "--jitter", "0.1,10,0.2").jitter, [0.1, 10, 0.2]);
  assert.throws(
    () => parse(...base, "--jitter", "0.1,10"),
    usageError(/^--jitter must be 3 comma-separated values \(each a number ≥ 0\), got "0.1,10"$/),
  );
  const endpoints = parseFlags(
    { endpoints: list({ kind: "choice", choices: ["/a", "/b"] }, "paths", { default: ["/a"] }) },
    ["--endpoints", "/b,/a"],
  ).endpoints;
  const typed: ("/a" | "/b")[] = endpoints;
  assert.deepEqual(typed, ["/b", "/a"]);
});

test("unknown flags and positionals are refused, with the nearest flag named", () => {
  assert.throws(
    () => parse("--arch", "mnist7", "--epoch", "3"),
    usageError(/^Unknown option --epoch; did you mean --epochs\? \(see --help\)$/),
  );
  assert.throws(() => parse("--bogus"), usageError(/^Unknown option --bogus \(see --help\)$/));
  assert.throws(() => parse("mnist7"), usageError(/^unexpected argument "mnist7"/));
  assert.throws(() => parse("--constructor", "x"), usageError(/^Unknown option --constructor/));
});

test("--help is generated from the table", () => {
  assert.ok(wantsHelp(["--epochs", "3", "--help"]));
  assert.ok(wantsHelp(["-h"]));
  assert.ok(!wantsHelp(["--epochs", "3"]));
  const help = helpText("tsx scripts/x.ts --arch A [flags]", "Trains x.", TABLE);
  assert.match(help, /^usage: tsx scripts\/x\.ts --arch A \[flags\]\nTrains x\.\n\nflags:\n/);
  assert.match(help, /\n {2}--epochs N +training epochs \[an integer ≥ 1; default 5\]\n/);
  assert.match(help, /\n {2}--optimizer adam\|sgd +the optimiser \[default adam\]\n/);
  assert.match(help, /\n {2}--arch mnist7\|mnist28 +the architecture \[required\]\n/);
  assert.match(help, /\n {2}--out DIR +output folder\n/);
  assert.match(help, /\n {2}--resume +continue from the checkpoint\n/);
  assert.match(
    help,
    /--workers A,B,… +worker counts \[a comma-separated list \(each an integer ≥ 1\); default 1,2\]/,
  );
  assert.match(help, /--variant NAME=JSON +NAME=JSON \[repeatable\]/);
  assert.match(help, /\n {2}--help +this text\n$/);
  for (const name of Object.keys(TABLE)) assert.match(help, new RegExp(`\\n  --${name}\\b`));
});

test("a script's --help prints the generated text and exits 0", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "scripts/evaluate.ts", "--bogus", "--help"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: .*evaluate\.ts/);
  assert.match(r.stdout, /\n {2}--embedder FILE +/);
  assert.equal(r.stderr, "");
});
