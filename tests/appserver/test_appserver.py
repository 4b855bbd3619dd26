"""External tests of `wright app-server` (Codex App Server protocol v2 over JSONL / WebSocket).

Each test gets its own temp dir with a git repo, its own WRIGHT_HOME and its own scripted mock
model. Every server→client message is recorded (client.RECORD) and the last test class,
`ZSchemaConformance`, validates all of them against Codex's published JSON schema."""

import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import client as C  # noqa: E402
from client import Client, Mock, WsClient, WsServer, delay, exec_call, function_call, message, patch_call, reply, write_config  # noqa: E402

SCHEMA_DIR = os.environ.get(
    "CODEX_SCHEMA_DIR",
    os.path.abspath(os.path.join(C.ROOT, "..", "shared", "reference", "codex-app-server-schema")),
)


def body_text(body):
    return json.dumps(body)


def tagged_pids(tag):
    """Processes whose command line contains `tag`."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if tag.encode() in f.read():
                        pids.append(int(pid))
            except OSError:
                pass
    return pids


def kill_tagged(tag):
    """Cleans up commands a killed server left behind (they carry `tag`)."""
    for pid in tagged_pids(tag):
        try:
            pgid = os.getpgid(pid)
            if pgid != os.getpgid(0):
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class AppServerTest(unittest.TestCase):
    """Per-test sandbox: temp dir, repo, WRIGHT_HOME, mock model, servers."""

    def setUp(self):
        C.CURRENT_TEST[0] = self.id().split(".", 1)[-1]
        self.tmp = tempfile.mkdtemp(prefix="wright-appserver-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.repo = os.path.join(self.tmp, "repo")
        os.makedirs(os.path.join(self.repo, ".git"))
        self.home = os.path.join(self.tmp, "home")
        self.model = None

    def mock(self, steps):
        self.model = Mock(steps, self.tmp)
        self.addCleanup(self.model.close)
        write_config(self.home, self.model.url)
        return self.model

    def server(self, initialize=True, **kw):
        c = Client(self.home, **kw)
        self.addCleanup(c.close)
        if initialize:
            init = c.initialize()
            self.assertIn("result", init, init)
        return c

    def assertOk(self, reply):
        self.assertIn("result", reply, "expected a result, got %s" % reply)
        return reply["result"]

    def assertError(self, reply, code=None):
        self.assertIn("error", reply, "expected an error, got %s" % reply)
        if code is not None:
            self.assertEqual(reply["error"]["code"], code, reply)
        return reply["error"]


# --------------------------------------------------------------------------------------------
# approval policies and the sandbox (untrusted / on-request / on-failure)
# --------------------------------------------------------------------------------------------
class SandboxApprovals(AppServerTest):
    def test_known_safe_commands_run_without_asking_under_untrusted(self):
        self.mock([reply(exec_call("ls -a && git status --short 2>&1 | head -3", "call_ls")), message("listed")])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t = c.run_turn(tid, "list", decide=lambda r: "decline")
        self.assertEqual(t.status, "completed", t.completed)
        self.assertEqual(t.approvals(), [])
        done = t.items(type="commandExecution")
        self.assertEqual(done[0]["status"], "completed")

    def test_escalation_on_request_asks_with_the_justification(self):
        target = os.path.join(self.repo, ".git", "ESCALATED")
        call = function_call(
            "exec_command",
            {"cmd": "touch .git/ESCALATED", "sandbox_permissions": "require_escalated", "justification": "needs to write .git"},
            "call_esc",
        )
        self.mock([reply(call), message("done"), reply(dict(call, call_id="call_esc2")), message("done again")])
        c = self.server()
        tid = c.start_thread(self.repo, "on-request")
        t = c.run_turn(tid, "escalate", decide=lambda r: "decline")
        req = t.approvals()[0]
        self.assertEqual(req["params"]["reason"], "needs to write .git")
        self.assertFalse(os.path.exists(target))
        t = c.run_turn(tid, "escalate again", decide=lambda r: "accept")
        self.assertEqual(len(t.approvals()), 1)
        self.assertTrue(os.path.exists(target), "the approved command ran unconfined")

    def test_sandbox_blocks_protected_paths_and_on_failure_offers_a_retry(self):
        target = os.path.join(self.repo, ".git", "ONFAIL")
        self.mock([reply(exec_call("touch .git/ONFAIL", "call_f")), message("tried")])
        c = self.server()
        tid = c.start_thread(self.repo, "on-failure")
        t = c.run_turn(tid, "write git", decide=lambda r: "accept")
        self.assertEqual(len(t.approvals()), 1, "a failed confined command is offered a retry")
        self.assertIn("failed inside the sandbox", t.approvals()[0]["params"]["reason"])
        self.assertTrue(os.path.exists(target))
        # One item for the command: the confined failure is not reported as its end.
        done = [i for i in t.items(type="commandExecution") if i["id"] == "call_f"]
        self.assertEqual(len(done), 1, t.messages)
        self.assertEqual(done[0]["status"], "completed")
        self.assertEqual(done[0]["exitCode"], 0)

    def test_command_exec_is_confined_and_scrubbed(self):
        self.mock([message("unused")])
        c = self.server(env={"WRIGHT_TEST_SECRET_TOKEN": "sk-hidden"})
        outside = os.path.join(self.repo, ".git", "CMD_EXEC")
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", "echo \"[$WRIGHT_TEST_SECRET_TOKEN]\"; touch .git/CMD_EXEC"],
            "cwd": self.repo,
            "sandboxPolicy": {"type": "workspaceWrite"},
        }))
        self.assertEqual(r["stdout"].splitlines()[0], "[]")
        self.assertNotEqual(r["exitCode"], 0)
        self.assertFalse(os.path.exists(outside))

    def test_error_reply_fails_only_that_command(self):
        # Codex: an error answer to an approval request fails that one command; the turn goes on.
        m = self.mock([
            reply(exec_call("python3 -c 'print(\"error-reply-77\")'", "call_err")),
            message("Carried on after the refusal."),
        ])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t = c.run_turn(tid, "run it", decide=lambda r: {"error": {"code": -32000, "message": "client cannot ask"}})
        self.assertEqual(t.status, "completed", t.completed)
        done = t.items(type="commandExecution")
        self.assertEqual(done[0]["status"], "declined")
        self.assertNotIn("error-reply-77", done[0].get("aggregatedOutput") or "")
        self.assertIn("Carried on after the refusal.", t.agent_text())
        # The model was told, in its next request.
        bodies = m.wait_requests(2)
        self.assertIn("declined", body_text(bodies[1]["input"]))

    def test_never_keeps_the_sandbox(self):
        target = os.path.join(self.repo, ".git", "NEVER")
        self.mock([reply(exec_call("touch .git/NEVER", "call_n")), message("blocked")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        t = c.run_turn(tid, "write git")
        self.assertEqual(t.approvals(), [])
        done = t.items(type="commandExecution")
        self.assertEqual(done[0]["status"], "failed")
        self.assertFalse(os.path.exists(target))


# --------------------------------------------------------------------------------------------
# 1. command approvals
# --------------------------------------------------------------------------------------------
class CommandApproval(AppServerTest):
    def test_accept_runs_command(self):
        # Not a known-safe read-only command, so `untrusted` asks (`echo` would just run).
        m = self.mock([reply(exec_call("python3 -c 'print(\"approved-output-42\")'", "call_acc")), message("All done here.")])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t = c.run_turn(tid, "run the thing", decide=lambda r: "accept")

        self.assertEqual(t.status, "completed", t.completed)
        approvals = t.approvals()
        self.assertEqual([a["method"] for a in approvals], ["item/commandExecution/requestApproval"])
        req = approvals[0]
        self.assertEqual(req["params"]["itemId"], "call_acc")
        self.assertEqual(req["params"]["threadId"], tid)
        self.assertEqual(req["params"]["turnId"], t.id)
        self.assertIn("approved-output-42", req["params"]["command"])
        resolved = t.of("serverRequest/resolved")
        self.assertEqual([r["params"]["requestId"] for r in resolved], [req["id"]])

        started = [i for i in t.items("item/started", "commandExecution")]
        self.assertEqual(len(started), 1)
        self.assertEqual(started[0]["status"], "inProgress")
        done = t.items(type="commandExecution")
        self.assertEqual(len(done), 1, t.messages)
        self.assertEqual(done[0]["id"], "call_acc")
        self.assertEqual(done[0]["status"], "completed")
        self.assertEqual(done[0]["exitCode"], 0)
        self.assertIn("approved-output-42", done[0]["aggregatedOutput"])
        self.assertIn("All done here.", t.agent_text())
        self.assertEqual(t.completed["items"][-1]["text"], "All done here.")
        # the model saw the command's output
        bodies = m.wait_requests(2)
        self.assertIn("approved-output-42", body_text(bodies[1]["input"]))

    def test_decline(self):
        marker = os.path.join(self.repo, "DECLINED_RAN")
        m = self.mock([reply(exec_call("touch DECLINED_RAN", "call_dec")), message("Understood, not running it.")])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t = c.run_turn(tid, "touch a file", decide=lambda r: "decline")

        self.assertEqual(t.status, "completed", t.completed)
        self.assertEqual(len(t.approvals()), 1)
        items = t.items(type="commandExecution")
        self.assertEqual(len(items), 1, t.messages)
        self.assertEqual(items[0]["status"], "declined", items[0])
        self.assertFalse(os.path.exists(marker), "a declined command ran")
        self.assertIn("Understood, not running it.", t.agent_text())
        bodies = m.wait_requests(2)
        self.assertEqual(len(bodies), 2)
        outputs = [i for i in bodies[1]["input"] if i.get("type") == "function_call_output" and i.get("call_id") == "call_dec"]
        self.assertEqual(len(outputs), 1, "no function_call_output for the declined call in %s" % bodies[1]["input"][-3:])
        text = outputs[0]["output"] if isinstance(outputs[0]["output"], str) else json.dumps(outputs[0]["output"])
        self.assertRegex(text.lower(), r"declin|reject|denied|not approved", text)

    def test_accept_for_session(self):
        cmd = "python3 -c 'print(1)' && echo session-ok"
        self.mock([
            reply(exec_call(cmd, "call_s1")), message("first"),
            reply(exec_call(cmd, "call_s2")), message("second"),
        ])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t1 = c.run_turn(tid, "one", decide=lambda r: "acceptForSession")
        self.assertEqual(t1.status, "completed")
        self.assertEqual(len(t1.approvals()), 1)
        self.assertEqual(t1.items(type="commandExecution")[0]["status"], "completed")

        asked = []
        t2 = c.run_turn(tid, "two", decide=lambda r: asked.append(r) or "decline")
        self.assertEqual(t2.status, "completed")
        self.assertEqual(asked, [], "the identical command was asked again after acceptForSession")
        items = t2.items(type="commandExecution")
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["status"], "completed", items[0])
        self.assertIn("session-ok", items[0]["aggregatedOutput"])


# --------------------------------------------------------------------------------------------
# 2. patch approval
# --------------------------------------------------------------------------------------------
class PatchApproval(AppServerTest):
    def test_patch_accept(self):
        patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello from the patch\n*** End Patch\n"
        self.mock([reply(patch_call(patch, "call_patch")), message("Patched.")])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        target = os.path.join(self.repo, "hello.txt")
        existed_when_asked = []

        def decide(req):
            existed_when_asked.append(os.path.exists(target))
            return "accept"

        t = c.run_turn(tid, "add a file", decide=decide)
        self.assertEqual(t.status, "completed", t.completed)
        approvals = t.approvals()
        self.assertEqual([a["method"] for a in approvals], ["item/fileChange/requestApproval"])
        self.assertEqual(approvals[0]["params"]["itemId"], "call_patch")
        self.assertEqual(existed_when_asked, [False], "the file was written before approval")

        started = t.items("item/started", "fileChange")
        self.assertEqual(len(started), 1, t.messages)
        changes = started[0]["changes"]
        self.assertEqual(len(changes), 1)
        self.assertTrue(changes[0]["path"].endswith("hello.txt"), changes)
        self.assertEqual(changes[0]["kind"]["type"], "add")
        self.assertIn("hello from the patch", changes[0]["diff"])
        done = t.items(type="fileChange")
        self.assertEqual(len(done), 1)
        self.assertEqual(done[0]["status"], "completed")

        with open(target) as f:
            self.assertEqual(f.read(), "hello from the patch\n")
        diffs = t.of("turn/diff/updated")
        self.assertTrue(diffs, "no turn/diff/updated")
        self.assertIn("hello from the patch", diffs[-1]["params"]["diff"])
        self.assertEqual(diffs[-1]["params"]["turnId"], t.id)

    def test_patch_decline(self):
        patch = "*** Begin Patch\n*** Add File: nope.txt\n+nope\n*** End Patch\n"
        self.mock([reply(patch_call(patch, "call_np")), message("Fine.")])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        t = c.run_turn(tid, "add a file", decide=lambda r: "decline")
        self.assertEqual(t.status, "completed")
        self.assertFalse(os.path.exists(os.path.join(self.repo, "nope.txt")))
        done = t.items(type="fileChange")
        self.assertEqual(len(done), 1)
        self.assertEqual(done[0]["status"], "declined")


# --------------------------------------------------------------------------------------------
# 3. interrupt, 4. steer
# --------------------------------------------------------------------------------------------
class InterruptSteer(AppServerTest):
    def test_interrupt_kills_command(self):
        tag = "SURVIVED_%d" % os.getpid()
        m = self.mock([reply(exec_call("sleep 30; touch %s" % tag, "call_sleep")), message("after the interrupt")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        since = c.mark()
        turn_id = c.start_turn(tid, "sleep please")
        c.wait(lambda m: m.get("method") == "item/started" and m["params"]["item"]["type"] == "commandExecution", 15, since)
        t0 = time.time()
        self.assertOk(c.request("turn/interrupt", {"threadId": tid, "turnId": turn_id}))
        done = c.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id, 5, since)
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(done["params"]["turn"]["status"], "interrupted", done)
        time.sleep(1.0)
        self.assertFalse(os.path.exists(os.path.join(self.repo, tag)), "the interrupted command kept running")
        survivors = tagged_pids(tag)
        self.addCleanup(kill_tagged, tag)
        self.assertEqual(survivors, [], "processes of the interrupted command still alive")
        # interrupting a finished turn is an error; the thread takes a new turn
        self.assertError(c.request("turn/interrupt", {"threadId": tid, "turnId": turn_id}))
        t2 = c.run_turn(tid, "again")
        self.assertEqual(t2.status, "completed")
        self.assertIn("after the interrupt", t2.agent_text())
        # An interrupt is no error (Codex sends no `error` notification)...
        errors = [x for x in c.messages[since:] if x.get("method") == "error"]
        self.assertEqual(errors, [])
        # ...and the next turn's request tells the model the last one was aborted.
        bodies = m.wait_requests(2)
        self.assertIn("<turn_aborted>", body_text(bodies[-1]["input"]))

    def test_steer(self):
        m = self.mock([delay(1500, message("first answer")), message("steered answer")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        since = c.mark()
        turn_id = c.start_turn(tid, "original prompt")
        c.wait_method("turn/started", 10, since)
        m.wait_requests(1, 5)
        steer = c.request("turn/steer", {"threadId": tid, "expectedTurnId": turn_id,
                                         "input": [{"type": "text", "text": "STEERED", "text_elements": []}]})
        self.assertEqual(self.assertOk(steer), {"turnId": turn_id})
        bad = c.request("turn/steer", {"threadId": tid, "expectedTurnId": "not-the-turn",
                                       "input": [{"type": "text", "text": "x", "text_elements": []}]})
        self.assertError(bad)
        t = c.drive(tid, turn_id, since, timeout=20)
        self.assertEqual(t.status, "completed", t.completed)
        bodies = m.bodies()
        self.assertNotIn("STEERED", body_text(bodies[0]))
        later = [b for b in bodies[1:] if "STEERED" in body_text(b.get("input"))]
        self.assertTrue(later, "no model request after the steer carried it: %d requests" % len(bodies))
        users = [i for i in t.items(type="userMessage") if "STEERED" in json.dumps(i)]
        self.assertTrue(users, "no userMessage item for the steered input")


# --------------------------------------------------------------------------------------------
# 5. resume after restart, 6. crash
# --------------------------------------------------------------------------------------------
class Persistence(AppServerTest):
    def test_resume_after_restart(self):
        m = self.mock([message("ANSWER-ONE zebra"), message("ANSWER-TWO")])
        c1 = self.server()
        tid = c1.start_thread(self.repo, "never")
        t1 = c1.run_turn(tid, "PROMPT-ONE please")
        self.assertEqual(t1.status, "completed")
        c1.close()
        self.assertIsNotNone(c1.proc.returncode, "server did not exit when stdin closed")

        c2 = self.server()
        res = self.assertOk(c2.request("thread/resume", {"threadId": tid}))
        thread = res["thread"]
        self.assertEqual(thread["id"], tid)
        self.assertEqual(len(thread["turns"]), 1, thread["turns"])
        turn = thread["turns"][0]
        self.assertEqual(turn["id"], t1.id)
        self.assertEqual(turn["status"], "completed")
        types = [i["type"] for i in turn["items"]]
        self.assertIn("userMessage", types)
        self.assertIn("agentMessage", types)
        self.assertIn("PROMPT-ONE please", json.dumps(turn["items"]))
        self.assertIn("ANSWER-ONE zebra", [i.get("text") for i in turn["items"]])

        t2 = c2.run_turn(tid, "PROMPT-TWO")
        self.assertEqual(t2.status, "completed", t2.completed)
        self.assertIn("ANSWER-TWO", t2.agent_text())
        bodies = m.bodies()
        self.assertEqual(len(bodies), 2)
        second = body_text(bodies[1]["input"])
        for s in ("PROMPT-ONE please", "ANSWER-ONE zebra", "PROMPT-TWO"):
            self.assertIn(s, second)

    def test_crash_and_resume(self):
        tag = "CRASHTAG_%d" % os.getpid()
        self.addCleanup(kill_tagged, tag)
        m = self.mock([
            reply(exec_call("echo FIRST-OUT", "call_first")),
            reply(exec_call("sleep 30; echo %s" % tag, "call_second")),
            message("recovered fine"),
        ])
        c1 = self.server()
        tid = c1.start_thread(self.repo, "never")
        since = c1.mark()
        turn_id = c1.start_turn(tid, "two commands")
        c1.wait(lambda x: x.get("method") == "item/started" and x["params"]["item"].get("id") == "call_second", 20, since)
        os.kill(c1.proc.pid, signal.SIGKILL)
        c1.proc.wait()

        c2 = self.server()
        thread = self.assertOk(c2.request("thread/resume", {"threadId": tid}))["thread"]
        self.assertEqual(len(thread["turns"]), 1, thread["turns"])
        turn = thread["turns"][0]
        self.assertEqual(turn["id"], turn_id)
        self.assertIn(turn["status"], ("interrupted", "failed"), "a turn that died with its server: %s" % turn["status"])
        cmds = {i["id"]: i for i in turn["items"] if i["type"] == "commandExecution"}
        self.assertIn("call_first", cmds, turn["items"])
        self.assertEqual(cmds["call_first"]["status"], "completed")
        self.assertIn("FIRST-OUT", cmds["call_first"]["aggregatedOutput"])
        if "call_second" in cmds:
            self.assertNotEqual(cmds["call_second"]["status"], "completed")

        t2 = c2.run_turn(tid, "carry on")
        self.assertEqual(t2.status, "completed", t2.completed)
        self.assertIn("recovered fine", t2.agent_text())
        last = m.bodies()[-1]["input"]
        self.assertIn("FIRST-OUT", body_text(last))
        # the Responses API refuses a function_call without its output
        calls = {i["call_id"] for i in last if i.get("type") == "function_call"}
        outputs = {i["call_id"] for i in last if i.get("type") == "function_call_output"}
        self.assertEqual(calls - outputs, set(), "function calls without output in the resumed history")


class Lifecycle(AppServerTest):
    def test_stdin_close_stops_running_turn(self):
        """A stdio client that goes away leaves nobody to report to or ask: the server should
        stop its turns (and their commands) and exit, not keep the agent running unattended."""
        tag = "STDINTAG_%d" % os.getpid()
        self.addCleanup(kill_tagged, tag)
        self.mock([reply(exec_call("sleep 20; touch %s" % tag, "call_orphan")), message("finished unattended")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        since = c.mark()
        c.start_turn(tid, "run a long command")
        c.wait(lambda m: m.get("method") == "item/started" and m["params"]["item"]["type"] == "commandExecution", 15, since)
        time.sleep(0.3)
        c.proc.stdin.close()
        try:
            c.proc.wait(timeout=5)
            exited = True
        except Exception:
            exited = False
        time.sleep(0.5)
        left = tagged_pids(tag)
        self.assertTrue(exited, "the server was still running 5 s after its stdin closed (a turn was running)")
        self.assertEqual(left, [], "the turn's command outlived its server")


# --------------------------------------------------------------------------------------------
# 7. concurrency
# --------------------------------------------------------------------------------------------
class Concurrency(AppServerTest):
    def test_twenty_concurrent_threads(self):
        n = 20
        texts = ["concurrent answer %02d" % i for i in range(n)]
        self.mock([message(t) for t in texts])
        c = self.server()
        t0 = time.time()
        since = c.mark()
        start_ids = [c.send_request("thread/start", {"cwd": self.repo, "approvalPolicy": "never", "sandbox": "workspace-write"}) for _ in range(n)]
        tids = [self.assertOk(c.response(r, 30))["thread"]["id"] for r in start_ids]
        self.assertEqual(len(set(tids)), n)
        turn_reqs = [c.send_request("turn/start", {"threadId": tid, "input": [{"type": "text", "text": "go %d" % i, "text_elements": []}]})
                     for i, tid in enumerate(tids)]
        turn_ids = {}
        for tid, r in zip(tids, turn_reqs):
            turn_ids[tid] = self.assertOk(c.response(r, 30))["turn"]["id"]
        completed = {}
        for msg in c.iter_messages(since, max(1, 30 - (time.time() - t0))):
            if msg.get("method") == "turn/completed":
                completed[msg["params"]["threadId"]] = msg["params"]["turn"]
                if len(completed) == n:
                    break
        self.assertLess(time.time() - t0, 30)
        self.assertEqual(set(completed), set(tids))
        got = []
        for tid in tids:
            self.assertEqual(completed[tid]["status"], "completed", completed[tid])
            self.assertEqual(completed[tid]["id"], turn_ids[tid])
            msgs = [m["params"]["item"]["text"] for m in c.find("item/completed", since, threadId=tid)
                    if m["params"]["item"]["type"] == "agentMessage"]
            self.assertEqual(len(msgs), 1, (tid, msgs))
            got.append(msgs[0])
        self.assertEqual(sorted(got), texts)


# --------------------------------------------------------------------------------------------
# 8. bad input
# --------------------------------------------------------------------------------------------
class BadInput(AppServerTest):
    def setUp(self):
        super().setUp()
        self.mock([])

    def still_serving(self, c):
        self.assertOk(c.request("model/list", {}))

    def error_after(self, c, since, rid=None, timeout=10):
        return c.wait(lambda m: "error" in m and "method" not in m and m.get("id") == rid, timeout, since)

    def test_garbage(self):
        c = self.server()
        since = c.mark()
        c.send_raw("this is not json at all")
        e = self.error_after(c, since)
        self.assertEqual(e["error"]["code"], -32700, e)
        self.still_serving(c)

    def test_truncated_json(self):
        c = self.server()
        since = c.mark()
        c.send_raw('{"id": 5, "method":')
        e = self.error_after(c, since)
        self.assertEqual(e["error"]["code"], -32700, e)
        self.still_serving(c)

    def test_json_array(self):
        c = self.server()
        since = c.mark()
        c.send_raw('[{"id": 9, "method": "model/list"}]')
        e = self.error_after(c, since)
        self.assertEqual(e["error"]["code"], -32600, e)
        self.still_serving(c)

    def test_no_method(self):
        c = self.server()
        since = c.mark()
        c.send_raw('{"id":6}')
        e = self.error_after(c, since, rid=6)
        self.assertEqual(e["error"]["code"], -32600, e)
        self.still_serving(c)

    def test_unknown_method(self):
        c = self.server()
        e = self.assertError(c.request("no/such/method", {}), -32601)
        self.assertIn("no/such/method", e["message"])
        self.still_serving(c)

    def test_bad_params_names_field(self):
        c = self.server()
        e = self.assertError(c.request("thread/start", {"cwd": 42}), -32602)
        self.assertIn("cwd", e["message"])
        e = self.assertError(c.request("turn/start", {"threadId": 7, "input": []}), -32602)
        self.assertIn("threadId", e["message"])
        self.still_serving(c)

    def test_approvals_reviewer_is_refused_not_changed(self):
        self.mock([message("unused")])
        c = self.server()
        e = self.assertError(c.request("thread/start", {"cwd": self.repo, "approvalsReviewer": "agent"}), -32602)
        self.assertIn("approvalsReviewer", e["message"])
        # The control: "user" (what wright does) is accepted and reported.
        r = self.assertOk(c.request("thread/start", {"cwd": self.repo, "approvalsReviewer": "user"}))
        self.assertEqual(r["approvalsReviewer"], "user")
        tid = r["thread"]["id"]
        e = self.assertError(c.request("turn/start", {"threadId": tid, "input": [{"type": "text", "text": "x"}], "approvalsReviewer": "agent"}), -32602)
        self.assertIn("approvalsReviewer", e["message"])

    def test_request_before_initialize(self):
        c = self.server(initialize=False)
        e = self.assertError(c.request("model/list", {}), -32600)
        self.assertIn("Not initialized", e["message"])
        self.assertIn("result", c.initialize())
        self.still_serving(c)
        self.assertError(c.request("initialize", {"clientInfo": {"name": "x", "version": "1"}}))
        self.still_serving(c)

    def test_oversized_line(self):
        c = self.server()
        since = c.mark()
        pad = "x" * (8 * 1024 * 1024 + 100)
        c.send_raw('{"id": 77, "method": "model/list", "params": {"pad": "%s"}}' % pad)
        e = c.wait(lambda m: "error" in m and "method" not in m, 20, since)
        self.assertIn(e.get("id"), (None, 77))
        self.assertNotIn(77, [m.get("id") for m in c.messages[since:] if "result" in m], "an oversized line was served")
        self.still_serving(c)

    def test_fuzz(self):
        c = self.server()
        rng = random.Random(7)
        valid = [
            {"id": 1000, "method": "thread/list", "params": {"limit": 3}},
            {"id": 1001, "method": "thread/start", "params": {"cwd": self.repo, "approvalPolicy": "never"}},
            {"id": 1002, "method": "turn/start", "params": {"threadId": "nope", "input": [{"type": "text", "text": "hi", "text_elements": []}]}},
            {"id": 1003, "method": "model/list", "params": {}},
            {"method": "initialized"},
            {"id": 0, "result": {"decision": "accept"}},
        ]
        methods = ["thread/read", "thread/list", "thread/resume", "turn/interrupt", "turn/steer",
                   "thread/name/set", "model/list", "config/read", "thread/search", "thread/archive",
                   "thread/fork", "turn/start", "thread/compact/start"]

        def rand_json(depth=0):
            kind = rng.randrange(8 if depth < 3 else 5)
            if kind == 0:
                return None
            if kind == 1:
                return rng.choice([True, False])
            if kind == 2:
                return rng.choice([0, -1, 2 ** 63, -2 ** 70, rng.randrange(-10 ** 6, 10 ** 6), rng.random() * 1e300])
            if kind == 3:
                return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000), 0x0, 0x1F600])) for _ in range(rng.randrange(12)))
            if kind == 4:
                return rng.choice(["", "threadId", "../../etc", "\u2028", "\\", "\""])
            if kind == 5:
                return [rand_json(depth + 1) for _ in range(rng.randrange(4))]
            keys = ["id", "method", "params", "threadId", "turnId", "input", "result", "error", "cursor", "limit", "x"]
            return {rng.choice(keys): rand_json(depth + 1) for _ in range(rng.randrange(5))}

        lines = []
        for i in range(300):
            kind = i % 5
            if kind == 0:
                raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                lines.append(raw.replace(b"\n", b" ").replace(b"\r", b" "))
            elif kind == 1:
                text = json.dumps(rng.choice(valid))
                lines.append(text[: rng.randrange(1, len(text))].encode())
            elif kind == 2:
                lines.append(json.dumps(rand_json()).encode())
            elif kind == 3:
                msg = {"id": rng.choice([rng.randrange(10 ** 6), "s%d" % i, None, 1.5, [], {}]),
                       "method": rng.choice(methods), "params": rand_json(1)}
                lines.append(json.dumps(msg).encode())
            else:
                msg = {"id": 5000 + i, "method": rng.choice(methods),
                       "params": {k: rand_json(2) for k in rng.sample(["threadId", "turnId", "input", "name", "limit", "cursor", "query", "expectedTurnId", "includeTurns"], 3)}}
                lines.append(json.dumps(msg).encode())
        for line in lines:
            c._write(line)
        since = c.mark()
        c.send({"id": "after-fuzz", "method": "model/list", "params": {}})
        reply = c.wait(lambda m: m.get("id") == "after-fuzz" and "method" not in m, 30, since)
        self.assertIn("result", reply, reply)
        self.assertTrue(c.alive(), "server died: %s" % c.stderr())
        self.still_serving(c)


# --------------------------------------------------------------------------------------------
# 9. thread management
# --------------------------------------------------------------------------------------------
class ThreadManagement(AppServerTest):
    def one_turn_thread(self, c, prompt="tell me", text="The xylophone quietly answered."):
        tid = c.start_thread(self.repo, "never")
        t = c.run_turn(tid, prompt)
        self.assertEqual(t.status, "completed")
        return tid, t

    def test_list_paging(self):
        self.mock([message("reply %d" % i) for i in range(5)])
        c = self.server()
        created = []
        for i in range(5):
            tid, _ = self.one_turn_thread(c, "prompt %d" % i)
            created.append(tid)
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = self.assertOk(c.request("thread/list", params))
            pages += 1
            self.assertLessEqual(len(page["data"]), 2, page)
            seen += [t["id"] for t in page["data"]]
            cursor = page.get("nextCursor")
            if not cursor or pages > 10:
                break
        self.assertEqual(len(seen), len(set(seen)), "a thread listed twice: %s" % seen)
        self.assertEqual(set(seen), set(created))
        self.assertEqual(pages, 3)

    def test_read_include_turns(self):
        self.mock([message("read me back")])
        c = self.server()
        tid, t = self.one_turn_thread(c, "the prompt")
        full = self.assertOk(c.request("thread/read", {"threadId": tid, "includeTurns": True}))["thread"]
        self.assertEqual(full["id"], tid)
        self.assertEqual([x["id"] for x in full["turns"]], [t.id])
        items = full["turns"][0]["items"]
        self.assertEqual([i["type"] for i in items], ["userMessage", "agentMessage"])
        self.assertEqual(items[1]["text"], "read me back")
        bare = self.assertOk(c.request("thread/read", {"threadId": tid}))["thread"]
        self.assertEqual(bare["turns"], [])
        self.assertError(c.request("thread/read", {"threadId": "00000000-0000-0000-0000-000000000000"}))

    def test_name_set(self):
        self.mock([message("x")])
        c = self.server()
        tid, _ = self.one_turn_thread(c)
        since = c.mark()
        self.assertOk(c.request("thread/name/set", {"threadId": tid, "name": "My Named Thread"}))
        c.wait_method("thread/name/updated", 5, since, threadId=tid)
        listed = {t["id"]: t for t in self.assertOk(c.request("thread/list", {"limit": 10}))["data"]}
        self.assertEqual(listed[tid]["name"], "My Named Thread")
        read = self.assertOk(c.request("thread/read", {"threadId": tid}))["thread"]
        self.assertEqual(read["name"], "My Named Thread")

    def test_archive_unarchive(self):
        self.mock([message("x"), message("y")])
        c = self.server()
        keep, _ = self.one_turn_thread(c)
        tid, _ = self.one_turn_thread(c)

        def ids(archived):
            return [t["id"] for t in self.assertOk(c.request("thread/list", {"limit": 50, "archived": archived}))["data"]]

        self.assertOk(c.request("thread/archive", {"threadId": tid}))
        self.assertNotIn(tid, ids(False))
        self.assertIn(keep, ids(False))
        self.assertIn(tid, ids(True))
        self.assertOk(c.request("thread/unarchive", {"threadId": tid}))
        self.assertIn(tid, ids(False))
        self.assertNotIn(tid, ids(True))

    def test_fork(self):
        self.mock([message("forked content"), message("fork continues")])
        c = self.server()
        tid, t = self.one_turn_thread(c)
        res = self.assertOk(c.request("thread/fork", {"threadId": tid}))
        fork = res["thread"]
        self.assertNotEqual(fork["id"], tid)
        self.assertEqual(fork["forkedFromId"], tid)
        self.assertEqual(len(fork["turns"]), 1)
        self.assertIn("forked content", [i.get("text") for i in fork["turns"][0]["items"]])
        t2 = c.run_turn(fork["id"], "continue in the fork")
        self.assertEqual(t2.status, "completed")
        orig = self.assertOk(c.request("thread/read", {"threadId": tid, "includeTurns": True}))["thread"]
        self.assertEqual(len(orig["turns"]), 1, "the fork's turn leaked into the original")

    def test_search(self):
        self.mock([message("The xylophone quietly answered."), message("nothing to see")])
        c = self.server()
        tid, _ = self.one_turn_thread(c)
        other, _ = self.one_turn_thread(c)
        found = self.assertOk(c.request("thread/search", {"searchTerm": "xylophone"}))
        self.assertEqual([r["thread"]["id"] for r in found["data"]], [tid])
        self.assertIn("xylophone", found["data"][0]["snippet"].lower())
        self.assertIsNone(found["nextCursor"])
        none = self.assertOk(c.request("thread/search", {"searchTerm": "zzzqqqnothing"}))["data"]
        self.assertEqual(none, [])
        err = self.assertError(c.request("thread/search", {"query": "xylophone"}), -32602)
        self.assertIn("searchTerm", err["message"])


# --------------------------------------------------------------------------------------------
# 9b. reading and editing history: turns/list, items/list, revert, inject_items, metadata,
#     shellCommand, review/start
# --------------------------------------------------------------------------------------------
class ThreadHistory(AppServerTest):
    def three_turns(self, c):
        tid = c.start_thread(self.repo, "never")
        turns = []
        for word in ("alpha", "bravo", "charlie"):
            t = c.run_turn(tid, "say %s" % word)
            self.assertEqual(t.status, "completed")
            turns.append(t.id)
        return tid, turns

    def test_turns_and_items_pages(self):
        self.mock([message("ALPHA-REPLY"), message("BRAVO-REPLY"), message("CHARLIE-REPLY")])
        c = self.server()
        tid, turns = self.three_turns(c)
        first = self.assertOk(c.request("thread/turns/list", {"threadId": tid, "limit": 2}))
        self.assertEqual([t["id"] for t in first["data"]], [turns[2], turns[1]])
        # Summary view: the user's message and the final answer.
        self.assertEqual([i["type"] for i in first["data"][0]["items"]], ["userMessage", "agentMessage"])
        self.assertEqual(first["data"][0]["itemsView"], "summary")
        rest = self.assertOk(c.request("thread/turns/list", {"threadId": tid, "limit": 2, "cursor": first["nextCursor"]}))
        self.assertEqual([t["id"] for t in rest["data"]], [turns[0]])
        self.assertIsNone(rest["nextCursor"])
        asc = self.assertOk(c.request("thread/turns/list", {"threadId": tid, "sortDirection": "asc", "itemsView": "notLoaded"}))
        self.assertEqual([t["id"] for t in asc["data"]], turns)
        self.assertEqual(asc["data"][0]["items"], [])

        items = self.assertOk(c.request("thread/items/list", {"threadId": tid}))["data"]
        texts = [e["item"].get("text") for e in items if e["item"]["type"] == "agentMessage"]
        self.assertEqual(texts, ["ALPHA-REPLY", "BRAVO-REPLY", "CHARLIE-REPLY"])
        self.assertEqual({e["turnId"] for e in items}, set(turns))
        one = self.assertOk(c.request("thread/items/list", {"threadId": tid, "turnId": turns[1]}))["data"]
        self.assertEqual([e["turnId"] for e in one], [turns[1], turns[1]])
        anchor = {"type": "item", "itemId": one[0]["item"]["id"]}
        after = self.assertOk(c.request("thread/items/list", {"threadId": tid, "turnId": turns[1], "cursor": anchor}))["data"]
        self.assertEqual([e["item"]["id"] for e in after], [one[1]["item"]["id"]])
        paged = self.assertOk(c.request("thread/items/list", {"threadId": tid, "limit": 4}))
        self.assertEqual(len(paged["data"]), 4)
        more = self.assertOk(c.request("thread/items/list", {"threadId": tid, "cursor": paged["nextCursor"]}))["data"]
        self.assertEqual(len(paged["data"]) + len(more), len(items))

        self.assertError(c.request("thread/turns/list", {"threadId": tid, "cursor": "bogus"}), -32602)
        self.assertError(c.request("thread/items/list", {"threadId": tid, "cursor": anchor}), -32602)
        self.assertError(c.request("thread/turns/list", {"threadId": "00000000-0000-0000-0000-000000000000"}), -32600)

    def test_revert_forgets_later_turns_for_the_model(self):
        model = self.mock([message("ALPHA-REPLY"), message("BRAVO-REPLY"), message("CHARLIE-REPLY"), message("after revert")])
        c = self.server()
        tid, turns = self.three_turns(c)
        # Without a revert the model sees every earlier turn.
        self.assertIn("BRAVO-REPLY", body_text(model.bodies()[2]))
        res = self.assertOk(c.request("thread/revert", {"threadId": tid, "beforeTurnId": turns[1]}))
        self.assertEqual(res["thread"]["id"], tid)
        self.assertEqual(res["thread"]["turns"], [])
        left = self.assertOk(c.request("thread/turns/list", {"threadId": tid}))["data"]
        self.assertEqual([t["id"] for t in left], [turns[0]])
        t = c.run_turn(tid, "what now")
        self.assertEqual(t.status, "completed")
        last = body_text(model.bodies()[-1])
        self.assertIn("ALPHA-REPLY", last)
        self.assertNotIn("BRAVO-REPLY", last)
        self.assertNotIn("CHARLIE-REPLY", last)
        # The revert is on disk: a new server process sees the same.
        c.close()
        c2 = self.server()
        self.assertOk(c2.request("thread/resume", {"threadId": tid}))
        left = self.assertOk(c2.request("thread/turns/list", {"threadId": tid, "sortDirection": "asc"}))["data"]
        self.assertEqual([x["id"] for x in left], [turns[0], t.id])
        self.assertError(c2.request("thread/revert", {"threadId": tid, "beforeTurnId": turns[2]}), -32600)

    def test_inject_items_reach_the_model(self):
        model = self.mock([message("one"), message("two")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        c.run_turn(tid, "first")
        self.assertNotIn("INJECTED-NOTE-77", body_text(model.bodies()[0]))
        note = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "INJECTED-NOTE-77"}]}
        self.assertOk(c.request("thread/inject_items", {"threadId": tid, "items": [note]}))
        c.run_turn(tid, "second")
        self.assertIn("INJECTED-NOTE-77", body_text(model.bodies()[-1]))
        err = self.assertError(c.request("thread/inject_items", {"threadId": tid, "items": [{"role": "user"}]}), -32602)
        self.assertIn("items[0]", err["message"])

    def test_metadata_update_git_info(self):
        self.mock([message("x")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        c.run_turn(tid, "hi")
        res = self.assertOk(c.request("thread/metadata/update", {"threadId": tid, "gitInfo": {"branch": "feature/x", "sha": "abc123"}}))
        self.assertEqual(res["thread"]["gitInfo"], {"sha": "abc123", "branch": "feature/x", "originUrl": None})
        res = self.assertOk(c.request("thread/metadata/update", {"threadId": tid, "gitInfo": {"sha": None}}))
        self.assertEqual(res["thread"]["gitInfo"], {"sha": None, "branch": "feature/x", "originUrl": None})
        self.assertError(c.request("thread/metadata/update", {"threadId": tid, "gitInfo": {"branch": ""}}), -32602)
        c.close()
        c2 = self.server()
        read = self.assertOk(c2.request("thread/read", {"threadId": tid}))["thread"]
        self.assertEqual(read["gitInfo"]["branch"], "feature/x")

    def test_shell_command_runs_as_the_user_and_joins_the_thread(self):
        model = self.mock([message("seen it")])
        c = self.server()
        tid = c.start_thread(self.repo, "never", sandbox="read-only")
        outside = os.path.join(self.tmp, "outside-the-sandbox.txt")
        since = c.mark()
        cmd = "echo shell-$((6*7)) && echo written > %s" % outside
        self.assertEqual(self.assertOk(c.request("thread/shellCommand", {"threadId": tid, "command": cmd})), {})
        done = c.wait_method("turn/completed", 20, since, threadId=tid)
        self.assertEqual(done["params"]["turn"]["status"], "completed")
        item = c.wait_method("item/completed", 5, since, threadId=tid)["params"]["item"]
        self.assertEqual(item["type"], "commandExecution")
        self.assertEqual(item["source"], "userShell")
        self.assertEqual(item["exitCode"], 0)
        self.assertIn("shell-42", item["aggregatedOutput"])
        self.assertTrue(c.find("item/commandExecution/outputDelta", since, threadId=tid))
        # Unsandboxed, unlike the thread's own read-only commands.
        self.assertTrue(os.path.exists(outside))
        c.run_turn(tid, "what did I run?")
        last = body_text(model.bodies()[-1])
        self.assertIn("user_shell_command", last)
        self.assertIn("shell-42", last)
        # A timeout ends it.
        since = c.mark()
        start = time.time()
        self.assertOk(c.request("thread/shellCommand", {"threadId": tid, "command": "sleep 30", "timeoutMs": 300}))
        c.wait_method("turn/completed", 15, since, threadId=tid)
        self.assertLess(time.time() - start, 10)
        item = [m for m in list(c.messages[since:]) if m.get("method") == "item/completed"][-1]["params"]["item"]
        self.assertNotEqual(item["exitCode"], 0)
        self.assertError(c.request("thread/shellCommand", {"threadId": tid, "command": "  "}), -32602)

    def test_review_start(self):
        model = self.mock([message("No issues found in the change.")])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        since = c.mark()
        res = self.assertOk(c.request("review/start", {"threadId": tid, "target": {"type": "uncommittedChanges"}}))
        self.assertEqual(res["reviewThreadId"], tid)
        done = c.wait_method("turn/completed", 20, since, threadId=tid)
        self.assertEqual(done["params"]["turn"]["id"], res["turn"]["id"])
        items = [m["params"]["item"] for m in list(c.messages[since:]) if m.get("method") == "item/completed"]
        kinds = [i["type"] for i in items]
        self.assertEqual(kinds[0], "enteredReviewMode")
        self.assertEqual(kinds[-1], "exitedReviewMode")
        self.assertEqual(items[-1]["review"], "No issues found in the change.")
        self.assertIn("Review the current code changes", body_text(model.bodies()[0]))
        self.assertError(c.request("review/start", {"threadId": tid, "target": {"type": "baseBranch", "branch": "--upload-pack=x"}}), -32602)
        self.assertError(c.request("review/start", {"threadId": tid, "target": {"type": "detached"}}), -32602)

    def test_resume_before_the_first_turn_is_codexs_error(self):
        self.mock([])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        c.close()
        c2 = self.server()
        err = self.assertError(c2.request("thread/resume", {"threadId": tid}), -32600)
        self.assertEqual(err["message"], "no rollout found for thread id %s" % tid)

    def test_codex_methods_wright_lacks_say_so(self):
        c = self.server()
        err = self.assertError(c.request("thread/goal/set", {}), -32601)
        self.assertIn("wright does not offer", err["message"])
        err = self.assertError(c.request("no/such/method", {}), -32601)
        self.assertIn("method not found", err["message"])


# --------------------------------------------------------------------------------------------
# 10. WebSocket
# --------------------------------------------------------------------------------------------
class WebSocket(AppServerTest):
    def test_websocket_turn(self):
        self.mock([message("hello over websocket")])
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        self.assertIsNotNone(srv.url, "no listening banner on stderr: %s" % srv.lines)
        self.assertRegex(srv.banner, r"^wright app-server listening on ws://127\.0\.0\.1:[1-9][0-9]*$")
        ws = WsClient(srv.url, srv.token)
        self.addCleanup(ws.close)
        self.assertIn("result", ws.initialize())
        tid = ws.start_thread(self.repo, "never")
        t = ws.run_turn(tid, "say hello")
        self.assertEqual(t.status, "completed")
        self.assertIn("hello over websocket", t.agent_text())
        # a second connection is independent and still served
        ws2 = WsClient(srv.url + "?token=" + srv.token)
        self.addCleanup(ws2.close)
        self.assertError(ws2.request("model/list", {}), -32600)
        self.assertIn("result", ws2.initialize())
        self.assertIn("result", ws2.request("thread/read", {"threadId": tid}))


    def handshake_status(self, srv, headers, path="/"):
        """The HTTP status of an upgrade request with these headers (raw socket)."""
        import socket

        host, port = srv.url[len("ws://"):].rstrip("/").rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
        req = "GET %s HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" % path
        for k, v in headers.items():
            req += "%s: %s\r\n" % (k, v)
        s.sendall((req + "\r\n").encode())
        data = s.recv(4096).decode("latin-1")
        s.close()
        return int(data.split(" ", 2)[1])

    def test_refusals(self):
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        host = srv.url[len("ws://"):].rstrip("/")
        ok = {"Host": host, "Authorization": "Bearer " + srv.token}
        # The control: the right token from a local client is accepted.
        self.assertEqual(self.handshake_status(srv, ok), 101)
        self.assertEqual(self.handshake_status(srv, {"Host": host}), 401)
        self.assertEqual(self.handshake_status(srv, {"Host": host, "Authorization": "Bearer wrong"}), 401)
        self.assertEqual(self.handshake_status(srv, {"Host": host}, "/?token=" + srv.token), 101)
        # A web page (it sends Origin), even one holding the token.
        self.assertEqual(self.handshake_status(srv, dict(ok, Origin="https://evil.example")), 403)
        # DNS rebinding: a name that resolves to 127.0.0.1 but is not loopback.
        self.assertEqual(self.handshake_status(srv, dict(ok, Host="evil.example:%s" % host.rsplit(":", 1)[1])), 403)
        # The token file is the user's alone.
        self.assertEqual(os.stat(srv.token_file).st_mode & 0o777, 0o600)
        # Health checks need no token.
        import urllib.request

        for path in ("/readyz", "/healthz"):
            with urllib.request.urlopen("http://%s%s" % (host, path), timeout=10) as r:
                self.assertEqual(r.status, 200)

    def test_allowed_origin_and_token_hash(self):
        import hashlib

        token = "launcher-held-token"
        digest = hashlib.sha256(token.encode()).hexdigest()
        srv = WsServer(self.home, extra=["--ws-token-sha256", digest, "--ws-allow-origin", "http://127.0.0.1:9"], token_file=False)
        self.addCleanup(srv.close)
        host = srv.url[len("ws://"):].rstrip("/")
        self.assertFalse(os.path.exists(srv.token_file), "a token was written although a hash was given")
        self.assertEqual(self.handshake_status(srv, {"Host": host, "Authorization": "Bearer " + token, "Origin": "http://127.0.0.1:9"}), 101)
        self.assertEqual(self.handshake_status(srv, {"Host": host, "Authorization": "Bearer " + token, "Origin": "http://127.0.0.1:10"}), 403)

    def test_open_listener_needs_loopback(self):
        import subprocess

        proc = subprocess.run(
            [C.WRIGHT, "app-server", "--listen", "ws://0.0.0.0:0", "--ws-auth", "none"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=C.server_env(self.home),
        )
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"without authentication", proc.stderr)


class LoadedList(AppServerTest):
    def test_loaded_threads_paged(self):
        self.mock([message("unused")])
        c = self.server()
        self.assertEqual(self.assertOk(c.request("thread/loaded/list", {}))["data"], [])
        a = c.start_thread(self.repo, "never")
        b = c.start_thread(self.repo, "never")
        r = self.assertOk(c.request("thread/loaded/list", {}))
        self.assertEqual(sorted(r["data"]), sorted([a, b]))
        self.assertIsNone(r["nextCursor"])
        first = self.assertOk(c.request("thread/loaded/list", {"limit": 1}))
        self.assertEqual(len(first["data"]), 1)
        self.assertIsNotNone(first["nextCursor"])
        second = self.assertOk(c.request("thread/loaded/list", {"limit": 1, "cursor": first["nextCursor"]}))
        self.assertEqual(sorted(first["data"] + second["data"]), sorted([a, b]))
        self.assertIsNone(second["nextCursor"])
        e = self.assertError(c.request("thread/loaded/list", {"limit": "x"}), -32602)
        self.assertIn("limit", e["message"])


class SharedApprovals(AppServerTest):
    """Every client following a thread is asked; the first answer counts; the others are told
    (`serverRequest/resolved`, each with its own request id); a client that joins while a
    question is open is asked too; the question outlives the client that started the turn."""

    def clients(self, n):
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        out = []
        for _ in range(n):
            c = WsClient(srv.url, srv.token)
            self.addCleanup(c.close)
            self.assertIn("result", c.initialize())
            out.append(c)
        return out

    def approval(self, c, since, timeout=10):
        return c.wait(lambda m: m.get("method") == "item/commandExecution/requestApproval" and "id" in m, timeout, since)

    def test_a_client_joining_later_is_asked_and_its_answer_counts(self):
        self.mock([reply(exec_call("python3 -c 'print(\"joined-42\")'", "call_j")), message("done")])
        a, b = self.clients(2)
        tid = a.start_thread(self.repo, "untrusted")
        since_a = a.mark()
        a.start_turn(tid, "run it")
        asked_a = self.approval(a, since_a)
        # b starts following the thread while the question is open: it is asked as well.
        since_b = b.mark()
        self.assertOk(b.request("thread/resume", {"threadId": tid}))
        asked_b = self.approval(b, since_b)
        self.assertEqual(asked_b["params"]["itemId"], "call_j")
        b.reply(asked_b, {"decision": "accept"})
        done = a.wait_method("turn/completed", 15, since_a)
        self.assertEqual(done["params"]["turn"]["status"], "completed")
        # a's copy was withdrawn with a's own id; a late answer from a changes nothing.
        resolved_a = a.wait_method("serverRequest/resolved", 5, since_a)
        self.assertEqual(resolved_a["params"]["requestId"], asked_a["id"])
        resolved_b = b.wait_method("serverRequest/resolved", 5, since_b)
        self.assertEqual(resolved_b["params"]["requestId"], asked_b["id"])
        a.reply(asked_a, {"decision": "decline"})
        item = a.wait(lambda m: m.get("method") == "item/completed" and m["params"]["item"].get("type") == "commandExecution", 5, since_a)
        self.assertEqual(item["params"]["item"]["status"], "completed")
        self.assertIn("joined-42", item["params"]["item"]["aggregatedOutput"])

    def test_a_client_that_cannot_answer_does_not_decide_for_the_others(self):
        self.mock([reply(exec_call("python3 -c 'print(\"b-decides-9\")'", "call_e")), message("ok")])
        a, b = self.clients(2)
        tid = a.start_thread(self.repo, "untrusted")
        self.assertOk(b.request("thread/resume", {"threadId": tid}))
        since_a, since_b = a.mark(), b.mark()
        a.start_turn(tid, "run it")
        asked_a = self.approval(a, since_a)
        asked_b = self.approval(b, since_b)
        # a cannot answer approvals (an error reply); b still can, and b's yes counts.
        a.send({"id": asked_a["id"], "error": {"code": -32601, "message": "no approvals here"}})
        time.sleep(0.3)
        self.assertEqual(b.find("serverRequest/resolved", since_b), [])
        b.reply(asked_b, {"decision": "accept"})
        item = b.wait(lambda m: m.get("method") == "item/completed" and m["params"]["item"].get("type") == "commandExecution", 15, since_b)
        self.assertEqual(item["params"]["item"]["status"], "completed")
        self.assertIn("b-decides-9", item["params"]["item"]["aggregatedOutput"])

    def test_the_question_stays_open_when_the_turns_starter_leaves(self):
        self.mock([reply(exec_call("python3 -c 'print(\"kept-7\")'", "call_k")), message("still here")])
        a, b = self.clients(2)
        tid = a.start_thread(self.repo, "untrusted")
        self.assertOk(b.request("thread/resume", {"threadId": tid}))
        since_b = b.mark()
        a.start_turn(tid, "run it")
        asked_b = self.approval(b, since_b)
        a.close()
        time.sleep(0.5)
        # Not withdrawn: b can still answer, and the turn goes on.
        self.assertEqual(b.find("serverRequest/resolved", since_b), [])
        b.reply(asked_b, {"decision": "accept"})
        done = b.wait_method("turn/completed", 15, since_b)
        self.assertEqual(done["params"]["turn"]["status"], "completed")
        item = b.wait(lambda m: m.get("method") == "item/completed" and m["params"]["item"].get("type") == "commandExecution", 5, since_b)
        self.assertIn("kept-7", item["params"]["item"]["aggregatedOutput"])


class Unsubscribe(AppServerTest):
    def test_unsubscribe_stops_notifications(self):
        self.mock([message("for b only")])
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        a = WsClient(srv.url, srv.token)
        self.addCleanup(a.close)
        b = WsClient(srv.url, srv.token)
        self.addCleanup(b.close)
        self.assertIn("result", a.initialize())
        self.assertIn("result", b.initialize())
        tid = a.start_thread(self.repo, "never")
        self.assertOk(b.request("thread/resume", {"threadId": tid}))
        r = self.assertOk(a.request("thread/unsubscribe", {"threadId": tid}))
        self.assertEqual(r["status"], "unsubscribed")
        # Still loaded (b follows it), but a no longer does.
        r = self.assertOk(a.request("thread/unsubscribe", {"threadId": tid}))
        self.assertEqual(r["status"], "notSubscribed")
        since = a.mark()
        t = b.run_turn(tid, "hello")
        self.assertEqual(t.status, "completed")
        time.sleep(0.3)
        leaked = [m for m in a.messages[since:] if (m.get("params") or {}).get("threadId") == tid]
        self.assertEqual(leaked, [], "an unsubscribed client still got the thread's notifications")
        # Control: b, still subscribed, saw the turn.
        self.assertIn("for b only", t.agent_text())
        r = self.assertOk(a.request("thread/unsubscribe", {"threadId": "no-such-thread"}))
        self.assertEqual(r["status"], "notLoaded")


class Delete(AppServerTest):
    def test_delete_thread(self):
        self.mock([message("first"), delay(3000, message("slow"))])
        c = self.server()
        tid = c.start_thread(self.repo, "never")
        self.assertEqual(c.run_turn(tid, "hi").status, "completed")
        self.assertIn(tid, [t["id"] for t in self.assertOk(c.request("thread/list", {}))["data"]])
        # A running turn must be interrupted first.
        since = c.mark()
        turn_id = c.start_turn(tid, "slow one")
        e = self.assertError(c.request("thread/delete", {"threadId": tid}))
        self.assertIn("running turn", e["message"])
        self.assertOk(c.request("turn/interrupt", {"threadId": tid, "turnId": turn_id}))
        c.wait(lambda m: m.get("method") == "turn/completed", 10, since)
        since = c.mark()
        self.assertEqual(self.assertOk(c.request("thread/delete", {"threadId": tid})), {})
        c.wait(lambda m: m.get("method") == "thread/deleted" and m["params"]["threadId"] == tid, 5, since)
        # Gone from the list, and from the store (a resume cannot find it).
        self.assertNotIn(tid, [t["id"] for t in self.assertOk(c.request("thread/list", {}))["data"]])
        e = self.assertError(c.request("thread/read", {"threadId": tid}))
        self.assertIn("not found", e["message"])
        e = self.assertError(c.request("thread/delete", {"threadId": tid}))
        self.assertIn("not found", e["message"])


# --------------------------------------------------------------------------------------------
# approvalsReviewer "auto_review": a reviewer model decides instead of the client
# --------------------------------------------------------------------------------------------
def verdict(outcome, rationale, risk="low", authorization="high"):
    return message(json.dumps({"outcome": outcome, "risk_level": risk,
                               "user_authorization": authorization, "rationale": rationale}))


def escalated_touch(name, call_id):
    """A command that needs approval under on-request: it asks to leave the sandbox to write
    inside .git (which the sandbox keeps read-only)."""
    return function_call(
        "exec_command",
        {"cmd": "touch .git/%s" % name, "sandbox_permissions": "require_escalated",
         "justification": "JUSTIFY-%s" % name},
        call_id,
    )


class AutoReview(AppServerTest):
    def start(self, c, reviewer="auto_review", policy="on-request"):
        r = self.assertOk(c.request("thread/start", {
            "cwd": self.repo, "approvalPolicy": policy, "sandbox": "workspace-write",
            "approvalsReviewer": reviewer}))
        return r["thread"]["id"], r

    def reviewed_turn(self, c, tid, text, **extra):
        """A turn in which the client refuses to be asked anything."""
        asked = []
        since = c.mark()
        turn_id = c.start_turn(tid, text, **extra)
        t = c.drive(tid, turn_id, since, decide=lambda r: asked.append(r) or "decline", timeout=30)
        self.assertEqual(asked, [], "the client was asked although the reviewer decides")
        self.assertEqual(t.approvals(), [])
        return t

    def reviews(self, t):
        started = [m["params"] for m in t.of("item/autoApprovalReview/started")]
        completed = [m["params"] for m in t.of("item/autoApprovalReview/completed")]
        self.assertEqual(len(started), 1, t.messages)
        self.assertEqual(len(completed), 1, t.messages)
        s, d = started[0], completed[0]
        self.assertEqual(s["threadId"], d["threadId"])
        self.assertEqual(s["turnId"], t.id)
        self.assertEqual(s["reviewId"], d["reviewId"])
        self.assertEqual(s["startedAtMs"], d["startedAtMs"])
        self.assertGreaterEqual(d["completedAtMs"], d["startedAtMs"])
        self.assertEqual(s["review"]["status"], "inProgress")
        self.assertEqual(d["decisionSource"], "agent")
        self.assertEqual(s["action"], d["action"])
        return s, d

    def order(self, t, call_id):
        """Positions of: the item's start, the review's start and end, the item's end."""
        def at(pred):
            return next(i for i, m in enumerate(t.messages) if pred(m))
        item = lambda method: at(lambda m: m["method"] == method and m["params"]["item"].get("id") == call_id)
        return [
            item("item/started"),
            at(lambda m: m["method"] == "item/autoApprovalReview/started"),
            at(lambda m: m["method"] == "item/autoApprovalReview/completed"),
            item("item/completed"),
        ]

    def test_an_allow_verdict_runs_the_command_without_asking_the_client(self):
        target = os.path.join(self.repo, ".git", "AUTO_OK")
        m = self.mock([
            reply(escalated_touch("AUTO_OK", "call_ok")),
            verdict("allow", "The user asked for the marker."),
            message("Created it."),
        ])
        c = self.server()
        tid, r = self.start(c)
        self.assertEqual(r["approvalsReviewer"], "auto_review")
        self.assertEqual(r["approvalPolicy"], "on-request")
        t = self.reviewed_turn(c, tid, "USER-TASK: create the AUTO_OK marker in .git")
        self.assertEqual(t.status, "completed", t.completed)
        self.assertTrue(os.path.exists(target), "the approved command did not run")
        done = t.items(type="commandExecution")
        self.assertEqual(done[0]["status"], "completed", done)

        s, d = self.reviews(t)
        self.assertEqual(s["targetItemId"], "call_ok")
        self.assertEqual(s["action"]["type"], "command")
        self.assertEqual(s["action"]["source"], "shell")
        self.assertIn("touch .git/AUTO_OK", s["action"]["command"])
        self.assertEqual(os.path.realpath(s["action"]["cwd"]), os.path.realpath(self.repo))
        self.assertEqual(d["review"]["status"], "approved")
        self.assertEqual(d["review"]["riskLevel"], "low")
        self.assertEqual(d["review"]["userAuthorization"], "high")
        self.assertEqual(d["review"]["rationale"], "The user asked for the marker.")
        self.assertEqual(self.order(t, "call_ok"), sorted(self.order(t, "call_ok")))

        # The reviewer's request: its own instructions, no tools, the user's task and the exact
        # action with the agent's justification.
        bodies = m.wait_requests(3)
        review = bodies[1]
        self.assertIn("approval reviewer", review["instructions"])
        self.assertEqual(review["tools"], [])
        self.assertEqual(review["text"]["format"]["type"], "json_schema")
        for needle in ["USER-TASK: create the AUTO_OK marker", "touch .git/AUTO_OK", "JUSTIFY-AUTO_OK"]:
            self.assertIn(needle, body_text(review["input"]))
        # The agent's next request has the command's real output, not a refusal.
        outputs = [i for i in bodies[2]["input"] if i.get("call_id") == "call_ok" and i["type"] == "function_call_output"]
        self.assertEqual(len(outputs), 1)
        self.assertNotIn("declined", json.dumps(outputs[0]).lower())
        self.assertNotIn("rejected", json.dumps(outputs[0]).lower())

    def test_a_deny_verdict_declines_and_the_model_learns_why(self):
        # The same command as the test above, which runs when allowed.
        target = os.path.join(self.repo, ".git", "AUTO_OK")
        m = self.mock([
            reply(escalated_touch("AUTO_OK", "call_no")),
            verdict("deny", "REVIEWER-SAYS-NO-31: writes into .git", risk="high", authorization="low"),
            message("Understood."),
        ])
        c = self.server()
        tid, _ = self.start(c)
        t = self.reviewed_turn(c, tid, "create the marker")
        self.assertEqual(t.status, "completed", t.completed)
        self.assertFalse(os.path.exists(target), "a denied command ran")
        done = t.items(type="commandExecution")
        self.assertEqual(done[0]["status"], "declined", done)
        _, d = self.reviews(t)
        self.assertEqual(d["review"]["status"], "denied")
        self.assertEqual(d["review"]["riskLevel"], "high")
        self.assertEqual(d["review"]["userAuthorization"], "low")
        self.assertIn("REVIEWER-SAYS-NO-31", d["review"]["rationale"])
        self.assertEqual(self.order(t, "call_no"), sorted(self.order(t, "call_no")))
        bodies = m.wait_requests(3)
        outputs = [i for i in bodies[2]["input"] if i.get("call_id") == "call_no" and i["type"] == "function_call_output"]
        self.assertEqual(len(outputs), 1)
        self.assertIn("REVIEWER-SAYS-NO-31", json.dumps(outputs[0]))
        self.assertIn("Understood.", t.agent_text())

    def test_an_unreadable_verdict_or_a_failed_review_is_a_denial(self):
        target = os.path.join(self.repo, ".git", "AUTO_OK")
        m = self.mock([
            reply(escalated_touch("AUTO_OK", "call_g")),
            message("Sure, looks fine to me!"),
            message("Noted."),
            reply(escalated_touch("AUTO_OK", "call_e")),
            {"kind": "http_error", "status": 500},
            message("Noted again."),
        ])
        c = self.server()
        tid, _ = self.start(c)
        for call_id, why in [("call_g", "unreadable"), ("call_e", "error")]:
            t = self.reviewed_turn(c, tid, "create the marker")
            self.assertEqual(t.status, "completed", t.completed)
            self.assertFalse(os.path.exists(target), "a command ran without an allow verdict")
            self.assertEqual(t.items(type="commandExecution")[0]["status"], "declined")
            _, d = self.reviews(t)
            self.assertEqual(d["targetItemId"], call_id)
            self.assertEqual(d["review"]["status"], "denied")
            self.assertIn(why, d["review"]["rationale"])
        bodies = m.wait_requests(6)
        self.assertIn("could not complete", body_text(bodies[2]["input"]))

    def test_an_interrupt_aborts_the_review(self):
        target = os.path.join(self.repo, ".git", "AUTO_OK")
        self.mock([
            reply(escalated_touch("AUTO_OK", "call_i")),
            delay(8000, verdict("allow", "too late")),
        ])
        c = self.server()
        tid, _ = self.start(c)
        since = c.mark()
        turn_id = c.start_turn(tid, "create the marker")
        c.wait_method("item/autoApprovalReview/started", 15, since)
        self.assertOk(c.request("turn/interrupt", {"threadId": tid, "turnId": turn_id}))
        t = c.drive(tid, turn_id, since, timeout=10)
        self.assertEqual(t.status, "interrupted")
        _, d = self.reviews(t)
        self.assertEqual(d["review"]["status"], "aborted")
        self.assertEqual(t.approvals(), [])
        time.sleep(0.5)
        self.assertFalse(os.path.exists(target))

    def test_a_patch_outside_the_writable_roots(self):
        target = os.path.join(self.repo, ".git", "AUTO_PATCH.txt")
        patch = "*** Begin Patch\n*** Add File: %s\n+reviewed\n*** End Patch\n" % target
        self.mock([reply(patch_call(patch, "call_p")), verdict("allow", "requested"), message("Patched.")])
        c = self.server()
        tid, _ = self.start(c)
        t = self.reviewed_turn(c, tid, "write the file")
        self.assertEqual(t.status, "completed", t.completed)
        with open(target) as f:
            self.assertEqual(f.read(), "reviewed\n")
        s, d = self.reviews(t)
        self.assertEqual(s["targetItemId"], "call_p")
        self.assertEqual(s["action"]["type"], "applyPatch")
        self.assertEqual([os.path.realpath(p) for p in s["action"]["files"]], [os.path.realpath(target)])
        self.assertEqual(d["review"]["status"], "approved")

    def test_reviewer_per_thread_and_per_turn(self):
        m = self.mock([
            reply(escalated_touch("ONE", "call_1")), verdict("allow", "ok"), message("one"),
            reply(escalated_touch("TWO", "call_2")), message("two"),
        ])
        c = self.server()
        # guardian_subagent is Codex's old name for auto_review.
        tid, r = self.start(c, reviewer="guardian_subagent")
        self.assertEqual(r["approvalsReviewer"], "auto_review")
        # The default is the user; a turn can switch (for itself and the turns after it).
        user_tid, r = self.start(c, reviewer="user")
        self.assertEqual(r["approvalsReviewer"], "user")
        t = self.reviewed_turn(c, user_tid, "one", approvalsReviewer="auto_review")
        self.assertEqual(len(t.of("item/autoApprovalReview/completed")), 1)
        self.assertTrue(os.path.exists(os.path.join(self.repo, ".git", "ONE")))
        r = self.assertOk(c.request("thread/resume", {"threadId": user_tid}))
        self.assertEqual(r["approvalsReviewer"], "auto_review")
        # Back to the user: the client is asked, no review.
        since = c.mark()
        turn_id = c.start_turn(user_tid, "two", approvalsReviewer="user")
        t = c.drive(user_tid, turn_id, since, decide=lambda r: "decline")
        self.assertEqual(len(t.approvals()), 1)
        self.assertEqual(t.of("item/autoApprovalReview/started"), [])
        self.assertEqual(len(m.wait_requests(5)), 5)
        e = self.assertError(c.request("thread/start", {"cwd": self.repo, "approvalsReviewer": "robot"}), -32602)
        self.assertIn("approvalsReviewer", e["message"])

    def test_untrusted_still_asks_the_client(self):
        # As in Codex, only on-request approvals go to the reviewer.
        self.mock([reply(exec_call("python3 -c 'print(5)'", "call_u")), message("ok")])
        c = self.server()
        tid, _ = self.start(c, policy="untrusted")
        t = c.run_turn(tid, "run it", decide=lambda r: "accept")
        self.assertEqual(len(t.approvals()), 1)
        self.assertEqual(t.of("item/autoApprovalReview/started"), [])

    def test_the_reviewer_survives_a_restart(self):
        self.mock([message("first")])
        c = self.server()
        tid, _ = self.start(c)
        self.assertEqual(c.run_turn(tid, "hello").status, "completed")
        c.close()
        c2 = self.server()
        r = self.assertOk(c2.request("thread/resume", {"threadId": tid}))
        self.assertEqual(r["approvalsReviewer"], "auto_review")
        r = self.assertOk(c2.request("thread/fork", {"threadId": tid, "approvalsReviewer": "user"}))
        self.assertEqual(r["approvalsReviewer"], "user")


class FsMethods(AppServerTest):
    def test_files_round_trip(self):
        import base64

        c = self.server()
        d = os.path.join(self.tmp, "fs")
        self.assertOk(c.request("fs/createDirectory", {"path": os.path.join(d, "a", "b")}))
        self.assertTrue(os.path.isdir(os.path.join(d, "a", "b")))
        f = os.path.join(d, "a", "hello.bin")
        data = bytes(range(256)) * 3
        self.assertOk(c.request("fs/writeFile", {"path": f, "dataBase64": base64.b64encode(data).decode()}))
        with open(f, "rb") as fh:
            self.assertEqual(fh.read(), data)
        r = self.assertOk(c.request("fs/readFile", {"path": f}))
        self.assertEqual(base64.b64decode(r["dataBase64"]), data)
        m = self.assertOk(c.request("fs/getMetadata", {"path": f}))
        self.assertEqual((m["isFile"], m["isDirectory"], m["isSymlink"]), (True, False, False))
        self.assertGreater(m["modifiedAtMs"], 0)
        os.symlink(f, os.path.join(d, "link"))
        m = self.assertOk(c.request("fs/getMetadata", {"path": os.path.join(d, "link")}))
        self.assertEqual((m["isFile"], m["isSymlink"]), (True, True))
        r = self.assertOk(c.request("fs/readDirectory", {"path": os.path.join(d, "a")}))
        self.assertEqual(r["entries"], [
            {"fileName": "b", "isDirectory": True, "isFile": False},
            {"fileName": "hello.bin", "isDirectory": False, "isFile": True},
        ])
        # copy: a file, and a tree (which needs recursive)
        self.assertOk(c.request("fs/copy", {"sourcePath": f, "destinationPath": os.path.join(d, "copy.bin")}))
        with open(os.path.join(d, "copy.bin"), "rb") as fh:
            self.assertEqual(fh.read(), data)
        e = self.assertError(c.request("fs/copy", {"sourcePath": os.path.join(d, "a"), "destinationPath": os.path.join(d, "a2")}), -32602)
        self.assertIn("recursive", e["message"])
        self.assertOk(c.request("fs/copy", {"sourcePath": os.path.join(d, "a"), "destinationPath": os.path.join(d, "a2"), "recursive": True}))
        self.assertTrue(os.path.isfile(os.path.join(d, "a2", "hello.bin")))
        # remove: a tree; a missing path is fine unless force is false
        self.assertOk(c.request("fs/remove", {"path": os.path.join(d, "a2")}))
        self.assertFalse(os.path.exists(os.path.join(d, "a2")))
        self.assertOk(c.request("fs/remove", {"path": os.path.join(d, "nope")}))
        self.assertError(c.request("fs/remove", {"path": os.path.join(d, "nope"), "force": False}))
        e = self.assertError(c.request("fs/remove", {"path": os.path.join(d, "a"), "recursive": False}))
        self.assertIn("cannot remove", e["message"])

    def test_bad_params(self):
        c = self.server()
        e = self.assertError(c.request("fs/readFile", {"path": "relative/x"}), -32602)
        self.assertIn("absolute", e["message"])
        e = self.assertError(c.request("fs/readFile", {}), -32602)
        self.assertIn("path", e["message"])
        e = self.assertError(c.request("fs/writeFile", {"path": "/tmp/x", "dataBase64": "***"}), -32602)
        self.assertIn("base64", e["message"])
        e = self.assertError(c.request("fs/readFile", {"path": "/nonexistent/file"}))
        self.assertIn("/nonexistent/file", e["message"])
        self.assertIn("result", c.request("model/list", {}))


def inotify_watch_count(pid):
    """Inotify watches held by a process (the `inotify wd:` lines of its fds' fdinfo)."""
    n = 0
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return n


class FsWatch(AppServerTest):
    def changed(self, c, since, watch_id, path, timeout=10):
        """The first fs/changed for `watch_id` listing `path`, received at index >= since."""
        return c.wait(lambda m: m.get("method") == "fs/changed"
                      and m["params"]["watchId"] == watch_id
                      and path in m["params"]["changedPaths"], timeout, since)

    def test_create_modify_delete_then_unwatch(self):
        c = self.server()
        d = os.path.join(self.tmp, "watched")
        os.makedirs(d)
        r = self.assertOk(c.request("fs/watch", {"watchId": "w1", "path": d + "/./"}))
        self.assertEqual(r["path"], d)
        f = os.path.join(d, "a.txt")
        for action in ("create", "modify", "delete"):
            since = c.mark()
            if action == "delete":
                os.remove(f)
            else:
                with open(f, "w") as fh:
                    fh.write(action)
            note = self.changed(c, since, "w1", f)
            self.assertEqual(note["params"]["changedPaths"], [f], action)
        # Changes just before the unwatch may or may not make it out, but every fs/changed
        # comes before the unwatch's answer, and none after.
        with open(os.path.join(d, "b.txt"), "w") as fh:
            fh.write("b")
        rid = c.send_request("fs/unwatch", {"watchId": "w1"})
        self.assertOk(c.response(rid))
        with open(os.path.join(d, "c.txt"), "w") as fh:
            fh.write("c")
        os.remove(os.path.join(d, "b.txt"))
        time.sleep(1.0)
        with c.cond:
            msgs = list(c.messages)
        answered = next(i for i, m in enumerate(msgs) if m.get("id") == rid and "method" not in m)
        notes = [i for i, m in enumerate(msgs) if m.get("method") == "fs/changed"]
        self.assertGreaterEqual(len(notes), 3)
        self.assertTrue(all(i < answered for i in notes), (answered, notes))
        # Already gone: Codex's no-op answer.
        self.assertEqual(self.assertOk(c.request("fs/unwatch", {"watchId": "w1"})), {})

    def test_a_file_that_does_not_exist_yet(self):
        c = self.server()
        f = os.path.join(self.tmp, "later", "FETCH_HEAD")
        self.assertFalse(os.path.exists(f))
        self.assertOk(c.request("fs/watch", {"watchId": "fh", "path": f}))
        since = c.mark()
        os.makedirs(os.path.dirname(f))
        time.sleep(0.3)
        with open(f, "w") as fh:
            fh.write("x")
        note = self.changed(c, since, "fh", f)
        self.assertEqual(note["params"]["changedPaths"], [f])

    def test_closing_the_connection_drops_its_watches(self):
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        a = WsClient(srv.url, srv.token)
        self.addCleanup(a.close)
        b = WsClient(srv.url, srv.token)
        self.addCleanup(b.close)
        self.assertIn("result", a.initialize())
        self.assertIn("result", b.initialize())
        da, db = os.path.join(self.tmp, "da"), os.path.join(self.tmp, "db")
        os.makedirs(da)
        os.makedirs(db)
        self.assertOk(a.request("fs/watch", {"watchId": "same", "path": da}))
        self.assertOk(b.request("fs/watch", {"watchId": "same", "path": db}))
        self.assertEqual(inotify_watch_count(srv.proc.pid), 2)
        a.close()
        deadline = time.time() + 10
        while inotify_watch_count(srv.proc.pid) != 1 and time.time() < deadline:
            time.sleep(0.05)
        # a's OS watch is gone; b's stays and still reports.
        self.assertEqual(inotify_watch_count(srv.proc.pid), 1)
        since = b.mark()
        f = os.path.join(db, "x")
        with open(f, "w") as fh:
            fh.write("x")
        self.changed(b, since, "same", f)

    def test_bad_params(self):
        c = self.server()
        d = os.path.join(self.tmp, "w")
        os.makedirs(d)
        e = self.assertError(c.request("fs/watch", {"watchId": "r", "path": "relative/dir"}), -32602)
        self.assertIn("`path` must be an absolute path", e["message"])
        e = self.assertError(c.request("fs/watch", {"watchId": "m"}), -32602)
        self.assertIn("missing field `path`", e["message"])
        e = self.assertError(c.request("fs/watch", {"path": d}), -32602)
        self.assertIn("missing field `watchId`", e["message"])
        e = self.assertError(c.request("fs/unwatch", {}), -32602)
        self.assertIn("watchId", e["message"])
        self.assertOk(c.request("fs/watch", {"watchId": "dup", "path": d}))
        e = self.assertError(c.request("fs/watch", {"watchId": "dup", "path": d}), -32600)
        self.assertIn("watchId already exists: dup", e["message"])
        self.assertEqual(self.assertOk(c.request("fs/unwatch", {"watchId": "never"})), {})
        self.assertIn("result", c.request("model/list", {}))


class FuzzySearch(AppServerTest):
    def write(self, rel, text=""):
        p = os.path.join(self.repo, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_finds_a_file_and_skips_a_gitignored_one(self):
        self.write(".gitignore", "build/\n")
        self.write("src/widget_factory.py")
        ignored = self.write("build/widget_factory.py")
        self.assertTrue(os.path.isfile(ignored))
        c = self.server()
        r = self.assertOk(c.request("fuzzyFileSearch", {"query": "widgetfact", "roots": [self.repo]}))
        self.assertEqual([f["path"] for f in r["files"]], ["src/widget_factory.py"])
        f = r["files"][0]
        self.assertEqual((f["root"], f["file_name"], f["match_type"]), (self.repo, "widget_factory.py", "file"))
        self.assertGreater(f["score"], 0)
        self.assertEqual("".join(f["path"][i] for i in f["indices"]), "widgetfact")
        # Directories match too.
        r = self.assertOk(c.request("fuzzyFileSearch", {"query": "src", "roots": [self.repo], "cancellationToken": None}))
        self.assertEqual((r["files"][0]["path"], r["files"][0]["match_type"]), ("src", "directory"))
        # An empty query finds nothing.
        self.assertEqual(self.assertOk(c.request("fuzzyFileSearch", {"query": "", "roots": [self.repo]}))["files"], [])

    def test_a_later_search_with_the_same_token_cancels(self):
        # Big enough that the first walk is still running when the second request lands.
        for i in range(20000):
            self.write("d%02d/file_%05d.txt" % (i % 50, i))
        self.write("zz/needle_here.txt")
        c = self.server()
        first = c.send_request("fuzzyFileSearch", {"query": "file", "roots": [self.repo], "cancellationToken": "t"})
        second = c.send_request("fuzzyFileSearch", {"query": "needle", "roots": [self.repo], "cancellationToken": "t"})
        r1 = self.assertOk(c.response(first, timeout=60))
        r2 = self.assertOk(c.response(second, timeout=60))
        self.assertEqual(r1["files"], [])
        self.assertEqual(r2["files"][0]["path"], "zz/needle_here.txt")
        # Without the token, the same search completes, capped at 50 best-first.
        r3 = self.assertOk(c.request("fuzzyFileSearch", {"query": "file", "roots": [self.repo]}, timeout=60))
        self.assertEqual(len(r3["files"]), 50)
        scores = [f["score"] for f in r3["files"]]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_bad_params(self):
        c = self.server()
        e = self.assertError(c.request("fuzzyFileSearch", {"query": "x", "roots": ["relative"]}), -32602)
        self.assertIn("`roots[0]` must be an absolute path", e["message"])
        e = self.assertError(c.request("fuzzyFileSearch", {"roots": [self.repo]}), -32602)
        self.assertIn("missing field `query`", e["message"])
        e = self.assertError(c.request("fuzzyFileSearch", {"query": "x", "roots": self.repo}), -32602)
        self.assertIn("roots", e["message"])
        missing = os.path.join(self.tmp, "missing")
        e = self.assertError(c.request("fuzzyFileSearch", {"query": "x", "roots": [self.repo, missing]}), -32602)
        self.assertIn("`roots[1]`", e["message"])
        self.assertIn("not a directory", e["message"])
        self.assertIn("result", c.request("model/list", {}))


# --------------------------------------------------------------------------------------------
# config/read + writes, model/list, providers, permission profiles, account (API key)
# --------------------------------------------------------------------------------------------
class ConfigAndModels(AppServerTest):
    CONFIG = (
        "# my wright config\n"
        'model = "mock-a" # the one I use\n'
        'model_provider = "mock"\n'
        'notify = ["true"]\n'
        "bogus_key = 1\n"
        "\n"
        "# the scripted model\n"
        "[model_providers.mock]\n"
        'name = "mock"\n'
        'base_url = "{url}"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )

    def setUp(self):
        super().setUp()
        self.model = Mock([message("hello from the mock")], self.tmp,
                          models=["mock-a", "mock-b", "text-embedding-mock"])
        self.addCleanup(self.model.close)
        os.makedirs(self.home)
        self.config_path = os.path.join(self.home, "config.toml")
        self.write_file(self.CONFIG.format(url=self.model.url))

    def write_file(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def read_file(self):
        with open(self.config_path) as f:
            return f.read()

    def user_version(self, c):
        layers = c.call("config/read", {"includeLayers": True})["layers"]
        user = [l for l in layers if l["name"]["type"] == "user" and not l["name"].get("profile")]
        self.assertEqual(len(user), 1, layers)
        return user[0]["version"]

    def test_config_read_layers_origins_and_warnings(self):
        with open(os.path.join(self.home, "fast.config.toml"), "w") as f:
            f.write('model = "mock-b"\nmodel_reasoning_effort = "low"\n')
        c = self.server(args=["-c", "profile=fast", "-c", 'approval_policy="on-request"'])
        since = c.mark()
        r = c.call("config/read", {"includeLayers": True})
        cfg = r["config"]
        self.assertEqual(cfg["model"], "mock-b")
        self.assertEqual(cfg["approval_policy"], "on-request")
        self.assertEqual(cfg["model_providers"]["mock"]["base_url"], self.model.url)
        names = [l["name"] for l in r["layers"]]
        self.assertEqual(names, [
            {"type": "sessionFlags"},
            {"type": "user", "file": os.path.join(self.home, "fast.config.toml"), "profile": "fast"},
            {"type": "user", "file": self.config_path},
        ])
        self.assertEqual(r["layers"][0]["config"], {"profile": "fast", "approval_policy": "on-request"})
        self.assertTrue(all(l["version"].startswith("sha256:") for l in r["layers"]))
        o = r["origins"]
        self.assertEqual(o["approval_policy"]["name"], {"type": "sessionFlags"})
        self.assertEqual(o["model"]["name"].get("profile"), "fast")
        self.assertEqual(o["model_providers.mock.base_url"]["name"]["file"], self.config_path)
        self.assertEqual(o["model_providers.mock.base_url"]["version"], r["layers"][2]["version"])
        self.assertEqual(o["notify.0"]["name"]["file"], self.config_path)
        # Keys wright accepts but does not act on, and unknown keys, are named in configWarning.
        warnings = [m["params"] for m in c.find("configWarning", since)]
        notify = [w for w in warnings if "`notify`" in w["summary"]]
        self.assertEqual(len(notify), 1, warnings)
        self.assertIn("not acted on", notify[0]["summary"])
        self.assertEqual(notify[0]["path"], self.config_path)
        self.assertTrue(any("`bogus_key`" in w["summary"] for w in warnings), warnings)
        # Without includeLayers there are no layers.
        self.assertNotIn("layers", c.call("config/read", {}))

    def test_value_write_keeps_comments_and_reads_back(self):
        os.chmod(self.config_path, 0o640)
        c = self.server(args=["-c", 'approval_policy="never"'])
        version = self.user_version(c)
        r = c.call("config/value/write", {"keyPath": "model", "value": "mock-b",
                                          "mergeStrategy": "replace", "expectedVersion": version})
        self.assertEqual(r["status"], "ok")
        self.assertEqual(r["filePath"], self.config_path)
        self.assertIsNone(r["overriddenMetadata"])
        self.assertNotEqual(r["version"], version)
        self.assertEqual(r["version"], self.user_version(c))
        text = self.read_file()
        self.assertIn('model = "mock-b" # the one I use\n', text)
        self.assertIn("# my wright config\n", text)
        self.assertIn("# the scripted model\n", text)
        self.assertEqual(c.call("config/read", {})["config"]["model"], "mock-b")
        self.assertEqual(os.stat(self.config_path).st_mode & 0o777, 0o640)  # kept

        # A stale version is refused with Codex's error code, and nothing is written.
        before = self.read_file()
        e = self.assertError(c.request("config/value/write", {
            "keyPath": "model", "value": "x", "mergeStrategy": "replace", "expectedVersion": version}), -32600)
        self.assertEqual(e["data"]["config_write_error_code"], "configVersionConflict")
        # A write that would make the config invalid is refused; the file is unchanged.
        e = self.assertError(c.request("config/value/write", {
            "keyPath": "sandbox_mode", "value": "bogus", "mergeStrategy": "replace"}), -32600)
        self.assertEqual(e["data"]["config_write_error_code"], "configValidationError")
        self.assertIn("sandbox_mode", e["message"])
        e = self.assertError(c.request("config/value/write", {
            "keyPath": "model_provider", "value": "ghost", "mergeStrategy": "replace"}), -32600)
        self.assertIn("ghost", e["message"])
        # Only the user's config.toml is writable.
        e = self.assertError(c.request("config/value/write", {
            "keyPath": "model", "value": "x", "mergeStrategy": "replace",
            "filePath": os.path.join(self.tmp, "elsewhere.toml")}), -32600)
        self.assertEqual(e["data"]["config_write_error_code"], "configLayerReadonly")
        self.assertEqual(self.read_file(), before)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "elsewhere.toml")))
        # Bad params name the field.
        e = self.assertError(c.request("config/value/write", {"keyPath": "model", "value": 1}), -32602)
        self.assertIn("mergeStrategy", e["message"])

        # A key a higher layer decides is written, and the answer says who wins.
        r = c.call("config/value/write", {"keyPath": "approval_policy", "value": "on-request",
                                          "mergeStrategy": "replace"})
        self.assertEqual(r["status"], "okOverridden")
        self.assertEqual(r["overriddenMetadata"]["overridingLayer"]["name"], {"type": "sessionFlags"})
        self.assertEqual(r["overriddenMetadata"]["effectiveValue"], "never")
        # Writing a key wright does not act on says so.
        since = c.mark()
        c.call("config/value/write", {"keyPath": "hide_agent_reasoning", "value": True, "mergeStrategy": "replace"})
        w = c.wait_method("configWarning", since=since)
        self.assertIn("`hide_agent_reasoning`", w["params"]["summary"])
        # null removes a key.
        c.call("config/value/write", {"keyPath": "notify", "value": None, "mergeStrategy": "replace"})
        self.assertNotIn("notify", self.read_file())

    def test_batch_write_all_or_nothing(self):
        c = self.server()
        r = c.call("config/batchWrite", {"edits": [
            {"keyPath": "model_providers.mock", "value": {"stream_max_retries": 1, "wire_api": "chat"},
             "mergeStrategy": "upsert"},
            {"keyPath": "model_reasoning_effort", "value": "high", "mergeStrategy": "replace"},
            {"keyPath": "bogus_key", "value": None, "mergeStrategy": "replace"},
        ], "expectedVersion": self.user_version(c)})
        self.assertEqual(r["status"], "ok")
        cfg = c.call("config/read", {})["config"]
        self.assertEqual(cfg["model_providers"]["mock"], {
            "name": "mock", "base_url": self.model.url, "request_max_retries": 0,
            "stream_max_retries": 1, "wire_api": "chat"})
        self.assertEqual(cfg["model_reasoning_effort"], "high")
        self.assertNotIn("bogus_key", cfg)
        self.assertIn("# the scripted model\n[model_providers.mock]\n", self.read_file())
        before = self.read_file()
        e = self.assertError(c.request("config/batchWrite", {"edits": [
            {"keyPath": "model", "value": "fine", "mergeStrategy": "replace"},
            {"keyPath": "model_providers.mock.wire_api", "value": "carrier-pigeon", "mergeStrategy": "replace"},
        ]}), -32600)
        self.assertEqual(e["data"]["config_write_error_code"], "configValidationError")
        self.assertEqual(self.read_file(), before)
        e = self.assertError(c.request("config/batchWrite", {"edits": [
            {"keyPath": "no_such_table.key", "value": None, "mergeStrategy": "replace"}]}), -32600)
        self.assertEqual(e["data"]["config_write_error_code"], "configPathNotFound")
        # Codex's hot reload is not done, and the client is told so.
        since = c.mark()
        c.call("config/batchWrite", {"edits": [{"keyPath": "model", "value": "mock-a", "mergeStrategy": "replace"}],
                                     "reloadUserConfig": True})
        w = c.wait_method("configWarning", since=since)
        self.assertIn("reloadUserConfig", w["params"]["summary"])

    def test_model_list_offers_installed_local_models(self):
        # Files of the registry's size stand in for pulled models (the store checks sums when
        # pulling, and the size when listing).
        models = os.path.join(os.path.dirname(os.path.abspath(self.home)), "models")
        os.makedirs(models, exist_ok=True)
        c = self.server()
        ids = [m["id"] for m in c.call("model/list", {})["data"]]
        self.assertEqual(ids, ["mock-a", "mock-b"])
        for name, size in [("qwen2.5-coder-0.5b", 491_400_064), ("smollm2-135m", 98_362_432)]:
            with open(os.path.join(models, name + ".gguf"), "wb") as f:
                f.truncate(size)
        r = c.call("model/list", {})
        # After the provider's models; the test-only SmolLM2 is not offered.
        self.assertEqual([m["id"] for m in r["data"]], ["mock-a", "mock-b", "qwen2.5-coder-0.5b"])
        self.assertFalse(r["data"][2]["isDefault"])

    def test_model_list_from_the_provider(self):
        c = self.server()
        r = c.call("model/list", {})
        self.assertEqual([m["id"] for m in r["data"]], ["mock-a", "mock-b"])
        self.assertIsNone(r["nextCursor"])
        self.assertTrue(r["data"][0]["isDefault"])
        self.assertFalse(r["data"][1]["isDefault"])
        self.assertTrue(any(req["path"] == "/v1/models" for req in self.model.requests()))
        r = c.call("model/list", {"includeHidden": True})
        hidden = [m for m in r["data"] if m["hidden"]]
        self.assertEqual([m["id"] for m in hidden], ["text-embedding-mock"])
        # Paging as Codex: the cursor is the index to go on from.
        p1 = c.call("model/list", {"limit": 1})
        self.assertEqual(([m["id"] for m in p1["data"]], p1["nextCursor"]), (["mock-a"], "1"))
        p2 = c.call("model/list", {"limit": 1, "cursor": p1["nextCursor"]})
        self.assertEqual(([m["id"] for m in p2["data"]], p2["nextCursor"]), (["mock-b"], None))
        self.assertError(c.request("model/list", {"cursor": "nope"}), -32600)
        self.assertError(c.request("model/list", {"cursor": "9"}), -32600)
        e = self.assertError(c.request("model/list", {"modelProvider": "ghost"}), -32602)
        self.assertIn("modelProvider", e["message"])
        # Another configured provider, unreachable: the built-in catalog, with no default.
        with open(self.config_path, "a") as f:
            f.write('[model_providers.down]\nbase_url = "http://127.0.0.1:1/v1"\n')
        r = c.call("model/list", {"modelProvider": "down"})
        self.assertEqual(r["data"][0]["id"], "gpt-5.5")
        self.assertFalse(any(m["isDefault"] for m in r["data"]))

    def test_model_list_falls_back_when_the_provider_is_down(self):
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        self.write_file(self.CONFIG.format(url="http://127.0.0.1:%d/v1" % port))
        c = self.server()
        r = c.call("model/list", {})
        ids = [m["id"] for m in r["data"]]
        self.assertEqual(ids[0], "mock-a")  # the configured model stays the default
        self.assertTrue(r["data"][0]["isDefault"])
        for known in ["gpt-5.5", "o3", "gpt-4.1"]:
            self.assertIn(known, ids)

    def test_a_slow_provider_does_not_block_the_connection(self):
        import socket

        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        self.addCleanup(silent.close)
        self.write_file(self.CONFIG.format(url="http://127.0.0.1:%d/v1" % silent.getsockname()[1]))
        c = self.server()
        slow = c.send_request("model/list", {})
        quick = c.send_request("configRequirements/read")
        got_quick = c.response(quick, timeout=3)
        self.assertEqual(got_quick["result"], {"requirements": None})
        self.assertFalse([m for m in c.messages if m.get("id") == slow], "model/list answered before the provider timed out?")
        r = c.response(slow, timeout=20)
        self.assertIn("gpt-5.5", [m["id"] for m in r["result"]["data"]])

    def test_providers_profiles_and_features(self):
        c = self.server()
        r = c.call("modelProvider/list", {})
        self.assertEqual(r["defaultProviderId"], "mock")
        self.assertFalse(r["canChangeDefault"])
        by_id = {p["id"]: p for p in r["data"]}
        # The built-in providers (OpenAI, and the model running inside wright) and the configured one.
        self.assertEqual(sorted(by_id), ["local", "mock", "openai"])
        self.assertIsNone(by_id["local"]["baseUrl"])
        self.assertEqual(by_id["local"]["settings"], {"type": "customGateway", "auth": {"mode": "none"}})
        self.assertEqual(by_id["mock"]["baseUrl"], self.model.url)
        self.assertEqual(by_id["mock"]["settings"], {"type": "customGateway", "auth": {"mode": "none"}})
        self.assertEqual(by_id["openai"]["settings"], {"type": "openai"})
        self.assertEqual(c.call("modelProvider/capabilities/read", {}),
                         {"imageGeneration": False, "webSearch": False})
        r = c.call("permissionProfile/list", {})
        self.assertEqual([p["id"] for p in r["data"]], [":read-only", ":workspace", ":danger-full-access"])
        self.assertTrue(all(p["allowed"] for p in r["data"]))
        self.assertIn("workspace-write", r["data"][1]["description"])
        r = c.call("permissionProfile/list", {"limit": 2})
        self.assertEqual(r["nextCursor"], "2")
        self.assertEqual(c.call("experimentalFeature/list", {}), {"data": [], "nextCursor": None})
        self.assertEqual(c.call("configRequirements/read"), {"requirements": None})
        self.assertEqual(c.call("configRequirements/read", {}), {"requirements": None})
        self.assertError(c.request("configRequirements/read", {"x": 1}), -32602)

    def test_account_api_key_login_read_logout(self):
        # OpenAI is the provider here (at the mock's address): it takes the stored key.
        self.write_file('openai_base_url = "%s"\nmodel = "mock-a"\n' % self.model.url)
        c = self.server(env={"CODEX_API_KEY": ""})
        auth_path = os.path.join(self.home, "auth.json")
        self.assertEqual(c.call("account/read", {}), {"account": None, "requiresOpenaiAuth": True})
        e = self.assertError(c.request("account/login/start", {"type": "chatgpt"}), -32600)
        self.assertIn("API-key login only", e["message"])
        self.assertError(c.request("account/login/start", {"type": "apiKey", "apiKey": "has space"}), -32602)
        self.assertFalse(os.path.exists(auth_path))

        since = c.mark()
        key = "sk-wright-test-0123456789"
        self.assertEqual(c.call("account/login/start", {"type": "apiKey", "apiKey": key}), {"type": "apiKey"})
        done = c.wait_method("account/login/completed", since=since)
        self.assertEqual(done["params"], {"loginId": None, "success": True, "error": None})
        upd = c.wait_method("account/updated", since=since)
        self.assertEqual(upd["params"], {"authMode": "apikey", "planType": None})
        self.assertEqual(os.stat(auth_path).st_mode & 0o777, 0o600)
        with open(auth_path) as f:
            self.assertEqual(json.load(f)["OPENAI_API_KEY"], key)
        self.assertEqual(c.call("account/read", {}), {"account": {"type": "apiKey"}, "requiresOpenaiAuth": True})

        # The provider uses it.
        tid = c.start_thread(self.repo)
        turn = c.run_turn(tid, "hi")
        self.assertEqual(turn.status, "completed")
        sent = [r for r in self.model.requests() if r["path"] == "/v1/responses"]
        self.assertEqual(sent[-1]["authorization"], "Bearer " + key)
        self.assertNotIn(key, c.stderr())

        since = c.mark()
        self.assertEqual(c.call("account/logout"), {})
        upd = c.wait_method("account/updated", since=since)
        self.assertEqual(upd["params"], {"authMode": None, "planType": None})
        self.assertFalse(os.path.exists(auth_path))
        self.assertEqual(c.call("account/read", {})["account"], None)


# --------------------------------------------------------------------------------------------
# command/exec and command/exec/write|terminate|resize
# --------------------------------------------------------------------------------------------
def b64(text):
    import base64
    return base64.b64encode(text.encode()).decode()


def without_sandbox_notes(text):
    """A confined command's stderr without the sandbox's own notes (missing layers, caps)."""
    return "".join(l for l in text.splitlines(True) if not l.startswith("wright sandbox:"))


class CommandExec(AppServerTest):
    FULL = {"type": "dangerFullAccess"}
    CONFINED = {"type": "workspaceWrite"}

    def setUp(self):
        super().setUp()
        self.tag = "cmdexec-tag-%d" % random.randrange(1 << 40)
        self.addCleanup(kill_tagged, self.tag)

    def exec(self, c, params, sandbox=None):
        params = dict(params)
        params.setdefault("cwd", self.repo)
        params.setdefault("sandboxPolicy", sandbox or self.CONFINED)
        return c.send_request("command/exec", params)

    def streamed(self, c, pid):
        """(stdout, stderr, capReached seen, indexes) of the deltas for `pid` so far."""
        import base64
        out, err, capped, where = b"", b"", False, []
        with c.cond:
            msgs = list(c.messages)
        for i, m in enumerate(msgs):
            p = m.get("params") or {}
            if m.get("method") == "command/exec/outputDelta" and p.get("processId") == pid:
                data = base64.b64decode(p["deltaBase64"])
                if p["stream"] == "stdout":
                    out += data
                else:
                    err += data
                capped = capped or p["capReached"]
                where.append(i)
        text = lambda b: b.decode("utf-8", "replace").replace("\r", "")
        return text(out), text(err), capped, where

    def wait_output(self, c, pid, needle, timeout=20):
        deadline = time.time() + timeout
        while needle not in self.streamed(c, pid)[0]:
            if time.time() > deadline:
                self.fail("no %r in the output of %s: %r" % (needle, pid, self.streamed(c, pid)))
            time.sleep(0.05)

    def wait_gone(self, timeout=5):
        deadline = time.time() + timeout
        while tagged_pids(self.tag) and time.time() < deadline:
            time.sleep(0.05)
        return tagged_pids(self.tag)

    def test_streamed_deltas_arrive_before_the_response(self):
        self.mock([message("unused")])
        c = self.server()
        rid = self.exec(c, {
            "command": ["sh", "-c", "printf one; sleep 0.2; printf two >&2; sleep 0.2; printf three"],
            "processId": "s1",
            "streamStdoutStderr": True,
        })
        r = self.assertOk(c.response(rid))
        self.assertEqual(r["exitCode"], 0)
        # Streamed output is not repeated in the response...
        self.assertEqual(r["stdout"], "")
        self.assertEqual(r["stderr"], "")
        out, err, capped, where = self.streamed(c, "s1")
        self.assertEqual(out, "onethree")
        self.assertEqual(without_sandbox_notes(err), "two")
        self.assertFalse(capped)
        # ...and all of it came before the response.
        with c.cond:
            answered = next(i for i, m in enumerate(c.messages) if m.get("id") == rid and "method" not in m)
        self.assertTrue(where and max(where) < answered, (where, answered))

    def test_stdin_write_and_close(self):
        self.mock([message("unused")])
        c = self.server()
        rid = self.exec(c, {"command": ["cat"], "processId": "cat", "streamStdin": True})
        self.assertEqual(self.assertOk(c.request("command/exec/write", {"processId": "cat", "deltaBase64": b64("hello ")})), {})
        self.assertOk(c.request("command/exec/write", {"processId": "cat", "deltaBase64": b64("world\n"), "closeStdin": True}))
        r = self.assertOk(c.response(rid))
        self.assertEqual((r["exitCode"], r["stdout"]), (0, "hello world\n"))
        # Closed: nothing more goes in (while it is still running, or after).
        rid = self.exec(c, {
            "command": ["sh", "-c", "IFS= read line; printf 'out:%s\\n' \"$line\"; sleep 30 # " + self.tag],
            "processId": "io", "streamStdin": True, "streamStdoutStderr": True,
        })
        self.assertOk(c.request("command/exec/write", {"processId": "io", "deltaBase64": b64("ping\n"), "closeStdin": True}))
        self.wait_output(c, "io", "out:ping\n")
        e = self.assertError(c.request("command/exec/write", {"processId": "io", "deltaBase64": b64("x")}), -32600)
        self.assertIn("stdin is already closed", e["message"])
        self.assertOk(c.request("command/exec/terminate", {"processId": "io"}))
        self.assertOk(c.response(rid))
        # Without streamStdin there is no stdin to write to.
        rid = self.exec(c, {"command": ["sh", "-c", "sleep 30 # " + self.tag], "processId": "no-stdin"})
        e = self.assertError(c.request("command/exec/write", {"processId": "no-stdin", "deltaBase64": b64("x")}), -32600)
        self.assertIn("stdin streaming is not enabled", e["message"])
        self.assertOk(c.request("command/exec/terminate", {"processId": "no-stdin"}))
        self.assertOk(c.response(rid))

    def test_tty_echo_and_resize(self):
        self.mock([message("unused")])
        c = self.server()
        rid = self.exec(c, {
            "command": ["sh", "-c", "stty size; [ -t 0 ] && echo is-a-tty; IFS= read line; echo got:$line; stty size"],
            "processId": "tty",
            "tty": True,
            "size": {"rows": 31, "cols": 101},
        })
        self.wait_output(c, "tty", "is-a-tty\n")
        self.assertIn("31 101\n", self.streamed(c, "tty")[0])
        self.assertEqual(self.assertOk(c.request("command/exec/resize", {"processId": "tty", "size": {"rows": 45, "cols": 132}})), {})
        self.assertOk(c.request("command/exec/write", {"processId": "tty", "deltaBase64": b64("hi\n")}))
        r = self.assertOk(c.response(rid))
        self.assertEqual(r, {"exitCode": 0, "stdout": "", "stderr": ""})
        out, err, _, _ = self.streamed(c, "tty")
        # The terminal echoes what is typed; the command sees the new size.
        self.assertIn("hi\ngot:hi\n45 132\n", out)
        self.assertEqual(err, "", "a terminal's output is all stdout")
        # Resizing needs a terminal.
        rid = self.exec(c, {"command": ["sh", "-c", "sleep 30 # " + self.tag], "processId": "plain"})
        e = self.assertError(c.request("command/exec/resize", {"processId": "plain", "size": {"rows": 9, "cols": 9}}), -32600)
        self.assertIn("no terminal", e["message"])
        self.assertOk(c.request("command/exec/terminate", {"processId": "plain"}))
        self.assertOk(c.response(rid))

    def timeout_kills_grandchild(self, sandbox):
        c = self.server()
        lived = os.path.join(self.repo, "lived")
        killed = os.path.join(self.repo, "killed")
        # Control: the backgrounded grandchild, given time before the timeout, does its work:
        # it runs on its own, and only a kill of the whole tree can stop it.
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", "(sleep 0.3; touch lived) & sleep 30 # " + self.tag],
            "cwd": self.repo, "sandboxPolicy": sandbox, "timeoutMs": 1500,
        }))
        self.assertEqual(r["exitCode"], 124)
        self.assertTrue(os.path.exists(lived), "the control grandchild did not run")
        self.assertEqual(self.wait_gone(), [])
        started = time.time()
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", "(sleep 1; touch killed) & sleep 30 # " + self.tag],
            "cwd": self.repo, "sandboxPolicy": sandbox, "timeoutMs": 300,
        }))
        self.assertEqual(r["exitCode"], 124)
        self.assertLess(time.time() - started, 5)
        self.assertEqual(self.wait_gone(), [], "processes of the timed-out command survived")
        time.sleep(1.3)
        self.assertFalse(os.path.exists(killed), "the backgrounded grandchild outlived the timeout")

    def test_timeout_kills_backgrounded_grandchild_unconfined(self):
        self.mock([message("unused")])
        self.timeout_kills_grandchild(self.FULL)

    def test_timeout_kills_backgrounded_grandchild_in_the_sandbox(self):
        self.mock([message("unused")])
        self.timeout_kills_grandchild(self.CONFINED)

    def test_terminate(self):
        self.mock([message("unused")])
        c = self.server()
        rid = self.exec(c, {"command": ["sh", "-c", "echo ready; sleep 30 # " + self.tag], "processId": "t", "streamStdoutStderr": True, "disableTimeout": True})
        self.wait_output(c, "t", "ready")
        self.assertTrue(tagged_pids(self.tag))
        self.assertEqual(self.assertOk(c.request("command/exec/terminate", {"processId": "t"})), {})
        r = self.assertOk(c.response(rid))
        self.assertNotEqual(r["exitCode"], 0)
        self.assertEqual(self.wait_gone(), [])
        e = self.assertError(c.request("command/exec/terminate", {"processId": "t"}), -32600)
        self.assertEqual(e["message"], 'no active command/exec for process id "t"')

    def test_duplicate_process_id_is_refused(self):
        self.mock([message("unused")])
        c = self.server()
        rid = self.exec(c, {"command": ["sh", "-c", "echo ready; sleep 30 # " + self.tag], "processId": "dup", "streamStdoutStderr": True})
        self.wait_output(c, "dup", "ready")
        e = self.assertError(c.request("command/exec", {"command": ["true"], "processId": "dup"}), -32600)
        self.assertEqual(e["message"], 'duplicate active command/exec process id: "dup"')
        self.assertOk(c.request("command/exec/terminate", {"processId": "dup"}))
        self.assertOk(c.response(rid))
        # Over: the id is free again.
        r = self.assertOk(c.request("command/exec", {"command": ["echo", "again"], "processId": "dup", "cwd": self.repo}))
        self.assertEqual(r["stdout"], "again\n")

    def test_output_cap(self):
        self.mock([message("unused")])
        c = self.server()
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", "printf abcdef; printf uvwxyz >&2"],
            "outputBytesCap": 5, "sandboxPolicy": self.FULL,
        }))
        self.assertEqual(r, {"exitCode": 0, "stdout": "abcde", "stderr": "uvwxy"})
        rid = self.exec(c, {
            "command": ["sh", "-c", "printf abcdefghij; sleep 0.2; printf more"],
            "processId": "capped", "streamStdoutStderr": True, "outputBytesCap": 5,
        }, self.FULL)
        self.assertOk(c.response(rid))
        out, _, capped, _ = self.streamed(c, "capped")
        self.assertEqual(out, "abcde")
        self.assertTrue(capped)
        # The default cap is 1 MiB per stream, and a command past it is not held up.
        r = self.assertOk(c.request("command/exec", {"command": ["sh", "-c", "head -c 1100000 /dev/zero | tr '\\0' a"], "sandboxPolicy": self.FULL}))
        self.assertEqual((r["exitCode"], len(r["stdout"])), (0, 1 << 20))
        r = self.assertOk(c.request("command/exec", {"command": ["sh", "-c", "head -c 1100000 /dev/zero | tr '\\0' a"], "sandboxPolicy": self.FULL, "disableOutputCap": True}))
        self.assertEqual(len(r["stdout"]), 1100000)

    def test_env_set_and_unset(self):
        self.mock([message("unused")])
        c = self.server(env={"CMDEXEC_BASE": "server", "CMDEXEC_DROP": "present", "WRIGHT_TEST_SECRET_TOKEN": "sk-server"})
        script = 'printf "%s|%s|%s|%s|%s" "$CMDEXEC_BASE" "$CMDEXEC_EXTRA" "${CMDEXEC_DROP-unset}" "$MY_API_TOKEN" "$WRIGHT_TEST_SECRET_TOKEN"'
        r = self.assertOk(c.request("command/exec", {"command": ["sh", "-c", script], "cwd": self.repo, "sandboxPolicy": self.CONFINED}))
        # Without changes: the policy's environment (the server's secret withheld).
        self.assertEqual(r["stdout"], "server||present||")
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", script], "cwd": self.repo, "sandboxPolicy": self.CONFINED,
            "env": {"CMDEXEC_BASE": "request", "CMDEXEC_EXTRA": "added", "CMDEXEC_DROP": None, "MY_API_TOKEN": "from-client"},
        }))
        # Set, added, unset; a value the client sends is its own and passes as given, while
        # the server's secret stays withheld.
        self.assertEqual(r["stdout"], "request|added|unset|from-client|")
        # Loader variables would reach the unconfined sandbox launcher: refused when confined,
        # passed when not.
        e = self.assertError(c.request("command/exec", {
            "command": ["sh", "-c", 'printf "%s" "$LD_LIBRARY_PATH"'], "cwd": self.repo,
            "sandboxPolicy": self.CONFINED, "env": {"LD_LIBRARY_PATH": "/nonexistent"},
        }), -32602)
        self.assertIn("env.LD_LIBRARY_PATH", e["message"])
        r = self.assertOk(c.request("command/exec", {
            "command": ["sh", "-c", 'printf "%s" "$LD_LIBRARY_PATH"'], "cwd": self.repo,
            "sandboxPolicy": self.FULL, "env": {"LD_LIBRARY_PATH": "/nonexistent"},
        }))
        self.assertEqual(r["stdout"], "/nonexistent")

    def test_bad_params_are_named(self):
        self.mock([message("unused")])
        c = self.server()
        cases = [
            ({"command": []}, "`command`"),
            ({}, "command"),
            ({"command": "ls"}, "command"),
            ({"command": ["true"], "timeoutMs": 5, "disableTimeout": True}, "timeoutMs and disableTimeout"),
            ({"command": ["true"], "timeoutMs": -1}, "timeoutMs must be non-negative"),
            ({"command": ["true"], "outputBytesCap": 5, "disableOutputCap": True}, "outputBytesCap and disableOutputCap"),
            ({"command": ["true"], "tty": True}, "processId"),
            ({"command": ["true"], "streamStdin": True}, "processId"),
            ({"command": ["true"], "size": {"rows": 5, "cols": 5}}, "`size`"),
            ({"command": ["true"], "processId": "p", "tty": True, "size": {"rows": 0, "cols": 5}}, "size.rows"),
            ({"command": ["true"], "env": {"A=B": "x"}}, "`env`"),
            ({"command": ["true"], "permissionProfile": ":read-only"}, "permissionProfile"),
            ({"command": ["true"], "sandboxPolicy": {"type": "nope"}}, "sandboxPolicy"),
            ({"command": ["true"], "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": ["rel"]}}, "writableRoots[0]"),
            ({"command": ["true"], "cwd": "/definitely/not/here"}, "cwd"),
        ]
        for params, needle in cases:
            e = self.assertError(c.request("command/exec", params), -32602)
            self.assertIn(needle, e["message"], params)
        for method, params, needle in [
            ("command/exec/write", {"processId": "p"}, "deltaBase64 or closeStdin"),
            ("command/exec/write", {"processId": "p", "deltaBase64": "***"}, "deltaBase64"),
            ("command/exec/write", {}, "processId"),
            ("command/exec/resize", {"processId": "p", "size": {"rows": 0, "cols": 1}}, "size.rows"),
            ("command/exec/resize", {"processId": "p"}, "size"),
            ("command/exec/terminate", {"processId": 7}, "processId"),
        ]:
            e = self.assertError(c.request(method, params), -32602)
            self.assertIn(needle, e["message"], (method, params))
        for method, params in [
            ("command/exec/write", {"processId": "nope", "closeStdin": True}),
            ("command/exec/resize", {"processId": "nope", "size": {"rows": 1, "cols": 1}}),
            ("command/exec/terminate", {"processId": "nope"}),
        ]:
            e = self.assertError(c.request(method, params), -32600)
            self.assertEqual(e["message"], 'no active command/exec for process id "nope"')
        self.assertIn("result", c.request("model/list", {}))

    def test_process_ids_are_per_connection_and_die_with_it(self):
        self.mock([message("unused")])
        srv = WsServer(self.home)
        self.addCleanup(srv.close)
        ws1 = WsClient(srv.url, srv.token)
        ws2 = WsClient(srv.url, srv.token)
        self.addCleanup(ws2.close)
        self.assertIn("result", ws1.initialize())
        self.assertIn("result", ws2.initialize())
        ws1.send_request("command/exec", {
            "command": ["sh", "-c", "echo ready; sleep 60 # " + self.tag],
            "cwd": self.repo, "processId": "shared", "streamStdoutStderr": True, "disableTimeout": True,
        })
        self.wait_output(ws1, "shared", "ready")
        # Another connection cannot reach it, nor see its output.
        e = self.assertError(ws2.request("command/exec/terminate", {"processId": "shared"}), -32600)
        self.assertEqual(e["message"], 'no active command/exec for process id "shared"')
        self.assertTrue(tagged_pids(self.tag))
        self.assertEqual(ws2.find("command/exec/outputDelta"), [])
        # Its connection goes: it goes.
        ws1.close()
        self.assertEqual(self.wait_gone(), [], "the command outlived its connection")


# --------------------------------------------------------------------------------------------
# 11. schema conformance of everything recorded above (runs last: classes load alphabetically)
# --------------------------------------------------------------------------------------------
class ZSchemaConformance(AppServerTest):
    # Experimental in Codex: its stable schema has no response type for these.
    WRIGHT_ONLY = {"thread/search"}

    def generate_traffic(self):
        """Some traffic of our own, so the test means something when run alone."""
        self.mock([
            reply(exec_call("echo schema-check", "call_sc")),
            reply(patch_call("*** Begin Patch\n*** Add File: s.txt\n+s\n*** End Patch\n", "call_sp")),
            message("schema done"),
        ])
        c = self.server()
        tid = c.start_thread(self.repo, "untrusted")
        c.run_turn(tid, "schema traffic")
        c.request("thread/read", {"threadId": tid, "includeTurns": True})
        c.request("thread/list", {"limit": 5})
        c.request("config/read", {"includeLayers": True})
        c.request("config/value/write", {"keyPath": "model_reasoning_effort", "value": "low", "mergeStrategy": "replace"})
        c.request("config/batchWrite", {"edits": [{"keyPath": "notify", "value": ["x"], "mergeStrategy": "replace"}],
                                        "reloadUserConfig": True})
        c.request("config/value/write", {"keyPath": "model", "value": "x", "mergeStrategy": "replace",
                                         "expectedVersion": "sha256:stale"})
        c.request("configRequirements/read")
        c.request("permissionProfile/list", {})
        c.request("experimentalFeature/list", {})
        c.request("modelProvider/list", {})
        c.request("modelProvider/capabilities/read", {})
        c.request("account/read", {})
        c.request("account/login/start", {"type": "apiKey", "apiKey": "sk-schema-check"})
        c.request("account/logout")
        c.request("model/list", {})
        c.request("command/exec", {"command": ["echo", "hi"]})
        c.request("command/exec", {"command": ["sh", "-c", "echo out; echo err >&2"], "processId": "z1",
                                   "streamStdoutStderr": True, "outputBytesCap": 3})
        rid = c.send_request("command/exec", {"command": ["cat"], "processId": "z2", "tty": True})
        c.request("command/exec/resize", {"processId": "z2", "size": {"rows": 10, "cols": 40}})
        c.request("command/exec/write", {"processId": "z2", "deltaBase64": "aGkK"})
        c.request("command/exec/terminate", {"processId": "z2"})
        c.response(rid)
        c.request("thread/name/set", {"threadId": tid, "name": "n"})
        c.request("thread/compact/start", {"threadId": tid})
        watched = os.path.join(self.tmp, "schema-watch")
        os.makedirs(watched)
        c.request("fs/watch", {"watchId": "sw", "path": watched})
        since = c.mark()
        with open(os.path.join(watched, "f"), "w") as fh:
            fh.write("x")
        c.wait_method("fs/changed", 10, since)
        c.request("fs/unwatch", {"watchId": "sw"})
        c.request("fuzzyFileSearch", {"query": "s", "roots": [self.repo], "cancellationToken": "tok"})
        c.request("nope/nope", {})
        self.mcp_traffic()

    def mcp_traffic(self):
        """The MCP methods and notifications, and a model's MCP tool call approved through
        `item/tool/requestUserInput` (tests/mcp/broken_server.py, a stdlib Python server)."""
        workdir = os.path.join(self.tmp, "mcp")
        os.makedirs(workdir)
        model = Mock([reply(function_call("mcp__ok__ok", {}, "call_mcp")), message("mcp done")], workdir)
        self.addCleanup(model.close)
        server = os.path.join(C.ROOT, "tests", "mcp", "broken_server.py")
        home = os.path.join(workdir, "home")
        write_config(home, model.url, (
            "[mcp_servers.ok]\ncommand = \"python3\"\nargs = [%s, \"ok\"]\n"
            "default_tools_approval_mode = \"prompt\"\n"
            "[mcp_servers.hang]\ncommand = \"python3\"\nargs = [%s, \"hang-start\"]\n"
            "startup_timeout_sec = 1\n"
        ) % (json.dumps(server), json.dumps(server)))
        c = Client(home)
        self.addCleanup(c.close)
        c.initialize()
        tid = c.start_thread(self.repo, "on-request")
        c.wait_method("mcpServer/startupStatus/updated", 20, name="ok", status="ready")
        c.wait_method("mcpServer/startupStatus/updated", 20, name="hang", status="failed")
        listed = c.call("mcpServerStatus/list", {})
        self.assertEqual([s["name"] for s in listed["data"]], ["hang", "ok"])
        c.request("mcpServerStatus/list", {"detail": "toolsAndAuthOnly", "limit": 1})
        called = c.call("mcpServer/tool/call", {"threadId": tid, "server": "ok", "tool": "ok", "arguments": {}})
        self.assertEqual(called["content"], [{"type": "text", "text": "fine"}])
        c.request("mcpServer/tool/call", {"threadId": tid, "server": "nope", "tool": "ok"})
        c.request("mcpServer/resource/read", {"server": "ok", "uri": "file:///x"})
        since = c.mark()
        turn_id = c.start_turn(tid, "call the tool")
        asked = c.wait(lambda m: m.get("method") == "item/tool/requestUserInput", 20, since)
        question = asked["params"]["questions"][0]["id"]
        c.reply(asked, {"answers": {question: {"answers": ["Allow"]}}})
        done = c.wait_method("turn/completed", 20, since)
        self.assertEqual(done["params"]["turn"]["id"], turn_id)
        items = [m["params"]["item"] for m in c.find("item/completed", since)]
        mcp = [i for i in items if i["type"] == "mcpToolCall"]
        self.assertEqual(mcp[0]["status"], "completed", mcp)
        since = c.mark()
        self.assertEqual(c.call("config/mcpServer/reload"), {})
        c.wait_method("mcpServer/startupStatus/updated", 20, since, name="ok", status="ready")

    def wright_schema_problems(self, record, jsonschema):
        """Every recorded message against wright's own generated schema (what
        `wright app-server generate-json-schema` gives clients): the schema is the wire."""
        import subprocess
        out = os.path.join(self.tmp, "wright-schema")
        subprocess.run([C.WRIGHT, "app-server", "generate-json-schema", "--out", out], check=True,
                       capture_output=True)
        with open(os.path.join(out, "wright_app_server_protocol.schemas.json")) as f:
            bundle = json.load(f)
        methods = bundle["x-client-requests"]
        self.assertIn("thread/start", methods)

        def against(name):
            return jsonschema.Draft7Validator(dict(bundle, **{"$ref": "#/definitions/" + name}))

        cache = {}

        def check(name, value):
            if name not in cache:
                cache[name] = against(name)
            return ["wright schema %s%s: %s" % (name, "".join("[%r]" % p for p in e.absolute_path), e.message)
                    for e in sorted(cache[name].iter_errors(value), key=lambda e: list(e.absolute_path))][:3]

        problems, checked = [], 0
        for rec in record:
            kind, method, msg = rec["kind"], rec["method"], rec["msg"]
            errors = []
            if kind == "notification":
                errors = check("ServerNotification", {"method": msg.get("method"), "params": msg.get("params")})
            elif kind == "request":
                errors = check("ServerRequest", msg)
            elif kind == "error":
                errors = check("JsonRpcErrorObject", msg["error"])
            elif kind == "response":
                if method is None:
                    continue
                if method not in methods:
                    errors = ["wright schema has no method %r" % method]
                else:
                    errors = check(methods[method]["result"], msg["result"])
            else:
                continue
            checked += 1
            if errors:
                problems.append((rec["test"], kind, method, msg, errors))
        self.assertGreater(checked, 50)
        return problems

    def test_schema_conformance(self):
        # The reference data sits beside every checkout (../shared): missing, it fails.
        self.assertTrue(os.path.isdir(SCHEMA_DIR), "Codex schema not found at %s" % SCHEMA_DIR)
        import jsonschema

        self.generate_traffic()
        time.sleep(0.5)

        def load(name):
            with open(os.path.join(SCHEMA_DIR, name)) as f:
                return json.load(f)

        docs = {}

        def validator(fname, pointer=""):
            path = os.path.join(SCHEMA_DIR, fname)
            uri = "file://" + path
            if fname not in docs:
                docs[fname] = load(fname)
            schema = {"$ref": uri + "#" + pointer} if pointer else dict(docs[fname])
            try:
                from referencing import Registry, Resource
                from referencing.jsonschema import DRAFT7

                registry = Registry().with_resource(uri, Resource.from_contents(docs[fname], default_specification=DRAFT7))
                if not pointer:
                    schema["$id"] = uri
                return jsonschema.Draft7Validator(schema, registry=registry)
            except ImportError:  # older jsonschema
                resolver = jsonschema.RefResolver(uri, docs[fname])
                return jsonschema.Draft7Validator(schema, resolver=resolver)

        notif = validator("ServerNotification.json")
        sreq = validator("ServerRequest.json")
        err = validator("JSONRPCError.json", "/definitions/JSONRPCErrorError")
        methods = load("methods.json")
        v2 = load("codex_app_server_protocol.v2.schemas.json")["definitions"]
        response_type = {}
        for e in methods["ClientRequest"]["stable"]:
            p = e["params"]
            if p.endswith("Params") and p[:-6] + "Response" in v2:
                response_type[e["method"]] = p[:-6] + "Response"
        # Results whose type is not named after the params (or that have no params).
        response_type.update({
            "config/value/write": "ConfigWriteResponse",
            "config/batchWrite": "ConfigWriteResponse",
            "configRequirements/read": "ConfigRequirementsReadResponse",
            "account/logout": "LogoutAccountResponse",
            "config/mcpServer/reload": "McpServerRefreshResponse",
        })
        # A few result types (fuzzyFileSearch's) are not in the v2 bundle but in their own file.
        response_file = {}
        for e in methods["ClientRequest"]["stable"]:
            p = e["params"]
            f = p[:-6] + "Response.json"
            if e["method"] not in response_type and p.endswith("Params") and os.path.isfile(os.path.join(SCHEMA_DIR, f)):
                response_file[e["method"]] = f
        self.assertEqual(response_file.get("fuzzyFileSearch"), "FuzzyFileSearchResponse.json")
        self.assertEqual(response_type.get("thread/name/set"), "ThreadSetNameResponse")
        self.assertEqual(response_type.get("thread/start"), "ThreadStartResponse")
        resp_validators = {}

        def branch_errors(doc, msg):
            """Errors against the oneOf branch for this method, for a readable report."""
            for b in doc["oneOf"]:
                if msg.get("method") in b["properties"]["method"].get("enum", []):
                    ref = b["properties"]["params"]["$ref"].split("#", 1)[1]
                    v = validator(os.path.basename(doc["__file"]), ref)
                    return ["params%s: %s" % ("".join("[%r]" % p for p in e.absolute_path), e.message)
                            for e in sorted(v.iter_errors(msg.get("params")), key=lambda e: list(e.absolute_path))][:5]
            return ["method %r is not a known %s" % (msg.get("method"), doc["title"])]

        docs["ServerNotification.json"]["__file"] = "ServerNotification.json"
        docs["ServerRequest.json"]["__file"] = "ServerRequest.json"

        with C.RECORD_LOCK:
            record = list(C.RECORD)
        problems, counted, skipped = [], {}, {}
        for rec in record:
            kind, method, msg = rec["kind"], rec["method"], rec["msg"]
            counted[kind] = counted.get(kind, 0) + 1
            errors = []
            if kind == "unparseable":
                errors = ["server wrote a line that is not JSON"]
            elif kind == "notification":
                if not notif.is_valid(msg):
                    errors = branch_errors(docs["ServerNotification.json"], msg)
            elif kind == "request":
                if not sreq.is_valid(msg):
                    errors = branch_errors(docs["ServerRequest.json"], msg)
            elif kind == "error":
                errors = [e.message for e in err.iter_errors(msg["error"])]
                rid = msg.get("id")
                # JSON-RPC answers an unparseable request with id null; otherwise a RequestId
                if not (rid is None or isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool))):
                    errors.append("id %r is not a RequestId" % (rid,))
            elif kind == "response":
                if method is None or method in self.WRIGHT_ONLY:
                    skipped[method] = skipped.get(method, 0) + 1
                    continue
                # `on-failure` is a wright approval policy Codex's v2 enum lacks; everything
                # else in such a response must still conform.
                result = msg.get("result")
                if isinstance(result, dict) and result.get("approvalPolicy") == "on-failure":
                    msg = dict(msg, result=dict(result, approvalPolicy="on-request"))
                if method == "initialize":
                    key = ("v1/InitializeResponse.json", "")
                elif method in response_file:
                    key = (response_file[method], "")
                elif method in response_type:
                    key = ("codex_app_server_protocol.v2.schemas.json", "/definitions/" + response_type[method])
                else:
                    errors = ["no response type for method %r" % method]
                    key = None
                if key:
                    if key not in resp_validators:
                        resp_validators[key] = validator(*key)
                    errors = ["result%s: %s" % ("".join("[%r]" % p for p in e.absolute_path), e.message)
                              for e in sorted(resp_validators[key].iter_errors(msg["result"]), key=lambda e: list(e.absolute_path))][:5]
            else:
                errors = ["message is neither a notification, a request nor a response"]
            if errors:
                problems.append((rec["test"], kind, method, msg, errors))

        self.assertGreater(counted.get("notification", 0), 20, counted)
        problems += self.wright_schema_problems(record, jsonschema)
        if problems:
            by_sig = {}
            for test, kind, method, msg, errors in problems:
                by_sig.setdefault((kind, method, tuple(errors)), []).append((test, msg))
            lines = ["%d of %d server messages do not match Codex's schema (%d distinct problems):"
                     % (len(problems), len(record), len(by_sig))]
            for (kind, method, errors), occ in sorted(by_sig.items(), key=lambda kv: str(kv[0])):
                test, msg = occ[0]
                lines.append("- %s %s (x%d, e.g. in %s): %s\n    %s" % (
                    kind, method, len(occ), test, "; ".join(errors), json.dumps(msg)[:600]))
            self.fail("\n".join(lines))


if __name__ == "__main__":
    unittest.main(verbosity=2)
