"""End-to-end tests of scripts/eval-local with the scripted mock model instead of a real one.

Needs target/debug/{wright,wright-mock-model} (override with WRIGHT_BIN / WRIGHT_MOCK_BIN).
Run: python3 tests/evals/test_runner.py  (or -m unittest from this directory)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "appserver"))

from client import WRIGHT, Mock, delay, exec_call, message, reply  # noqa: E402

RUNNER = os.path.join(ROOT, "scripts", "eval-local")
TASKS = os.path.join(ROOT, "evals", "local")


class EvalRunner(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wright-evals-test.")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # The runner's working copies go here, so the test can see that they are cleaned up.
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)
        self.mock = None

    def tearDown(self):
        if self.mock:
            self.mock.close()

    def start_mock(self, steps):
        self.mock = Mock(steps, self.dir)
        return self.mock

    def run_runner(self, *args, timeout=120):
        home = os.path.join(self.dir, "wright-home")
        user_home = os.path.join(self.dir, "user-home")
        os.makedirs(home, exist_ok=True)
        os.makedirs(user_home, exist_ok=True)
        env = dict(os.environ)
        env.pop("OPENAI_API_KEY", None)
        # HOME apart: commands run as `bash -lc` and must not load the tester's login profile.
        env.update(WRIGHT_BIN=WRIGHT, WRIGHT_HOME=home, HOME=user_home, TMPDIR=self.tmp,
                   SHELL="/bin/bash")
        out = os.path.join(self.dir, "results.json")
        argv = [sys.executable, RUNNER, "--json-out", out, *args]
        if self.mock:
            provider = '{name="mock",base_url="%s",request_max_retries=0,stream_max_retries=0}'
            argv += ["-c", "model_provider=mock",
                     "-c", "model_providers.mock=" + provider % self.mock.url,
                     "-m", "eval-mock"]
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
        results = None
        if os.path.exists(out):
            with open(out) as f:
                results = json.load(f)
        return proc, results

    def by_id(self, results):
        return {t["id"]: t for t in results["tasks"]}

    def assert_cleaned_up(self):
        self.assertEqual(os.listdir(self.tmp), [], "working copies left behind")

    def test_one_of_two_solved(self):
        # Tasks run in id order: explain-return-value first (a wrong answer), then
        # fix-operator (fixed with a shell command, then a final message).
        self.start_mock([
            message("mystery(4) returns 10."),
            reply(exec_call("sed -i 's/width + height/width * height/' geometry.py")),
            message("Fixed: area multiplies width by height."),
        ])
        proc, results = self.run_runner(
            "--only", "fix-operator", "--only", "explain-return-value", "--timeout", "60")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("pass rate: 1/2 (50%)", proc.stdout)
        self.assertRegex(proc.stdout, r"total time: [0-9.]+s, mean time per task: [0-9.]+s")
        lines = proc.stdout.splitlines()
        self.assertRegex(lines[0], r"^explain-return-value\s+explain\s+FAIL\s+[0-9.]+s\s+steps=0")
        self.assertRegex(lines[1], r"^fix-operator\s+fix\s+PASS\s+[0-9.]+s\s+steps=1")

        self.assertEqual((results["passed"], results["total"]), (1, 2))
        tasks = self.by_id(results)
        self.assertEqual(tasks["fix-operator"]["status"], "PASS")
        self.assertEqual(tasks["fix-operator"]["steps"], 1)
        self.assertEqual(tasks["fix-operator"]["final"], "Fixed: area multiplies width by height.")
        self.assertEqual(tasks["explain-return-value"]["status"], "FAIL")
        self.assertEqual(tasks["explain-return-value"]["final"], "mystery(4) returns 10.")
        self.assertIn("does not say 6", tasks["explain-return-value"]["detail"])

        bodies = self.mock.bodies()
        self.assertEqual(len(bodies), 3)
        # The pass-through -m reached the model; the prompt is task.md.
        self.assertEqual({b["model"] for b in bodies}, {"eval-mock"})
        with open(os.path.join(TASKS, "fix-operator", "task.md")) as f:
            prompt = f.read().strip()
        self.assertIn(prompt, json.dumps(bodies[1]["input"]))
        self.assert_cleaned_up()

    def test_right_answer_passes_an_explain_task(self):
        self.start_mock([message("It returns 6 (0 + 1 + 2 + 3).")])
        proc, results = self.run_runner("--only", "explain-return-value")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("pass rate: 1/1 (100%)", proc.stdout)

    def test_timeout(self):
        self.start_mock([delay(30000, message("too late"))])
        proc, results = self.run_runner("--only", "fix-operator", "--timeout", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        task = self.by_id(results)["fix-operator"]
        self.assertEqual(task["status"], "TIMEOUT")
        self.assertLess(task["seconds"], 15)
        self.assertIn("pass rate: 0/1 (0%)", proc.stdout)
        self.assert_cleaned_up()

    def test_model_failure_is_an_error(self):
        self.start_mock([])  # exhausted at once: HTTP 500
        proc, results = self.run_runner("--only", "fix-typo-name")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        task = self.by_id(results)["fix-typo-name"]
        self.assertEqual(task["status"], "ERROR")
        self.assertIn("wright exited 1", task["detail"])

    def test_broken_fixture_exits_2_without_running_wright(self):
        tasks = os.path.join(self.dir, "tasks")
        task = os.path.join(tasks, "fix-nothing")
        os.makedirs(os.path.join(task, "repo"))
        with open(os.path.join(task, "task.md"), "w") as f:
            f.write("Nothing to do.\n")
        with open(os.path.join(task, "repo", "a.py"), "w") as f:
            f.write("x = 1\n")
        with open(os.path.join(task, "check.sh"), "w") as f:
            f.write("exit 0\n")  # already passing: measures nothing
        other = os.path.join(tasks, "create-x")
        os.makedirs(other)  # no task.md, repo/ or check.sh
        self.start_mock([message("should not be asked")])
        proc, results = self.run_runner("--tasks", tasks)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        statuses = {t["id"]: (t["status"], t["detail"]) for t in results["tasks"]}
        self.assertEqual(statuses["fix-nothing"][0], "BROKEN")
        self.assertIn("passes before", statuses["fix-nothing"][1])
        self.assertEqual(statuses["create-x"][0], "BROKEN")
        self.assertIn("broken tasks: create-x, fix-nothing", proc.stderr)
        self.assertEqual(self.mock.bodies(), [])
        self.assert_cleaned_up()

    def test_task_set_fixtures(self):
        """Every shipped task fails at the start and passes after its reference solution."""
        proc, results = self.run_runner("--verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertGreaterEqual(results["total"], 12)
        self.assertEqual(results["ok"], results["total"])
        kinds = {t["kind"] for t in results["tasks"]}
        self.assertEqual(kinds, {"create", "fix", "rename", "explain"})
        self.assert_cleaned_up()

    def test_a_wrong_solution_fails_the_check(self):
        """The checks are not fooled by the obvious shortcuts."""
        cases = {
            # A constant instead of counting.
            "create-line-counter": "printf 'print(5)\\n' > count_lines.py",
            # Editing the test instead of the code.
            "fix-operator": "sed -i 's/12/7/' test_geometry.py",
            # Renaming the definition but not its caller.
            "rename-function": "sed -i 's/def calc/def add_numbers/' util.py",
            # Naming every function.
            "explain-which-function":
                "echo 'compute_total, scale_price, format_money' > \"$WRIGHT_FINAL\"",
        }
        for task_id, bad in cases.items():
            with self.subTest(task_id):
                tasks = os.path.join(self.dir, "bad-" + task_id)
                shutil.copytree(os.path.join(TASKS, task_id), os.path.join(tasks, task_id))
                with open(os.path.join(tasks, task_id, "solve.sh"), "w") as f:
                    f.write("#!/usr/bin/env bash\n%s\n" % bad)
                proc, results = self.run_runner("--verify", "--tasks", tasks)
                self.assertEqual(proc.returncode, 2, proc.stdout)
                self.assertIn("check.sh fails after solve.sh", results["tasks"][0]["detail"])

    def test_unknown_task(self):
        proc, _ = self.run_runner("--verify", "--only", "no-such-task")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no such task: no-such-task", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
