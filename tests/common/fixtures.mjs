// Fixtures the npm suites share (tests/sdk, tests/acp, tests/web): the binaries under test,
// temporary directories, and the scripted mock model. Node built-ins only, so every suite can
// import it by path whatever its own package.json holds.
//
// Binaries (build first: `cargo build -p wright-cli -p wright-mock-model`):
//   WRIGHT_BIN       default <repo>/target/debug/wright
//   WRIGHT_MOCK_BIN  default <repo>/target/debug/wright-mock-model

import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WRIGHT_BIN = path.resolve(
  process.env.WRIGHT_BIN || path.join(REPO_ROOT, "target", "debug", "wright"),
);
export const MOCK_BIN = path.resolve(
  process.env.WRIGHT_MOCK_BIN || path.join(REPO_ROOT, "target", "debug", "wright-mock-model"),
);

for (const [name, bin] of [
  ["WRIGHT_BIN", WRIGHT_BIN],
  ["WRIGHT_MOCK_BIN", MOCK_BIN],
]) {
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${name}: ${bin} does not exist; run \`cargo build -p wright-cli -p wright-mock-model\` first`,
    );
  }
}

/**
 * A fresh directory, removed when `t` (a node:test context, or anything with `after(fn)`)
 * ends. Its real path: wright resolves symlinks, so the paths it reports are real paths.
 */
export function tempDir(t, prefix) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `wright-${prefix}-`)));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}

/** A fresh `git init`ed directory. */
export function gitRepo(t, prefix = "repo") {
  const dir = tempDir(t, prefix);
  execFileSync("git", ["init", "-q", dir], { stdio: "ignore" });
  return dir;
}

/**
 * Starts wright-mock-model playing `steps` (killed when `t` ends). Returns its base URL and
 * `requests()`, every request it has logged so far (`{path, body, authorization}`).
 */
export async function startMock(t, steps) {
  const dir = tempDir(t, "mock");
  const script = path.join(dir, "script.json");
  const log = path.join(dir, "requests.jsonl");
  fs.writeFileSync(script, JSON.stringify({ steps }));
  const child = spawn(MOCK_BIN, ["--script", script, "--log", log], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mock did not start: ${stderr}`)), 5_000);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once("line", (line) => {
      clearTimeout(timer);
      rl.close();
      resolve(line.trim());
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mock exited with ${code} before listening: ${stderr}`));
    });
  });
  const requests = () =>
    fs.existsSync(log)
      ? fs
          .readFileSync(log, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
      : [];
  return { url, requests };
}
