import assert from "node:assert/strict";
import { test } from "node:test";
import { levelLambda, levelLr } from "../src/distill/level-lambda.js";

const separation = (lambda: number, classes: number) => 1 + (classes - 1) / (lambda - classes + 1);

test("hierarchy scope: five levels together separate classes as much as one level at λ", () => {
  const perLevel = levelLambda(19, 10, 5, "hierarchy");
  assert.ok(perLevel > 19, `${perLevel}`);
  assert.ok(Math.abs(separation(perLevel, 10) ** 5 - separation(19, 10)) < 1e-9);
  assert.ok(Math.abs(perLevel - 74.7) < 0.1, `${perLevel}`);
});

test("level scope, one level, and λ ≤ n − 1 use λ as given", () => {
  assert.equal(levelLambda(19, 10, 5, "level"), 19);
  assert.equal(levelLambda(19, 10, 1, "hierarchy"), 19);
  assert.equal(levelLambda(5, 10, 5, "hierarchy"), 5);
});

test("the level's learning rate keeps the gradient step of λ at lr", () => {
  const perLevel = levelLambda(19, 10, 5, "hierarchy");
  const lr = levelLr(1, 19, perLevel, 10);
  assert.ok(Math.abs(lr * (perLevel - 9) - 1 * (19 - 9)) < 1e-9);
  assert.equal(levelLr(1, 19, 19, 10), 1);
});
