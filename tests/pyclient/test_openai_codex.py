"""OpenAI's own Python SDK (`openai-codex` on PyPI) driving `wright app-server`.

The SDK launches `<codex_bin> [--config k=v ...] app-server --listen stdio://` and speaks App
Server v2 JSON-RPC over the child's stdio; every response is validated by the SDK against its
pydantic models generated from Codex's schema. Pointing `CodexConfig.codex_bin` at the wright
binary is all it takes (no shim): the SDK only checks that the path exists.

Each test gets its own temp dir holding a git repo, a WRIGHT_HOME and a scripted mock model
(`wright-mock-model`, the exact Responses wire), reusing tests/appserver/client.py for those.

Beyond what each test asserts, every notification the SDK failed to parse into its typed model
(it silently falls back to `UnknownNotification`) is recorded and fails the test: a typed client
would lose that event."""

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "appserver"))

import client as C  # noqa: E402  (tests/appserver/client.py: mock model + config helpers)
from client import delay, exec_call, message, reply  # noqa: E402

try:
    import openai_codex
    from openai_codex import ApprovalMode, AsyncCodex, Codex, CodexConfig, ExternalMessage, Sandbox
    from openai_codex.client import CodexClient
    from openai_codex.errors import JsonRpcError
    from openai_codex.generated.notification_registry import NOTIFICATION_MODELS
    from openai_codex.generated.v2_all import (
        AgentMessageDeltaNotification,
        AgentMessageThreadItem,
        CommandExecutionThreadItem,
        ItemCompletedNotification,
        TurnCompletedNotification,
        TurnStatus,
        UserMessageThreadItem,
    )
    from openai_codex.models import UnknownNotification
except ImportError as e:  # run.sh turns this into a failure under CI
    raise SystemExit("openai-codex is not installed (pip install openai-codex==0.163.0): %s" % e)

PINNED_SDK = "0.163.0"

# TEMPORARY: tests marked @unittest.expectedFailure because wright fails the SDK there today.
# Remove the mark (and the entry) when the server is fixed; an unexpected success fails the run.
KNOWN_WRIGHT_GAPS = {
}
TEST_TIMEOUT = int(os.environ.get("PYCLIENT_TEST_TIMEOUT", "60"))

# (test, method, params, pydantic error) for every notification the SDK could not type.
MISFITS = []
# (test, method, params) of every notification any client of this process received.
NOTIFICATIONS = []
CURRENT = [""]
_orig_coerce = CodexClient._coerce_notification


def _recording_coerce(self, method, params):
    NOTIFICATIONS.append((CURRENT[0], method, params))
    note = _orig_coerce(self, method, params)
    if isinstance(note.payload, UnknownNotification) and method in NOTIFICATION_MODELS:
        try:
            NOTIFICATION_MODELS[method].model_validate(params if isinstance(params, dict) else {})
            err = "validated on retry"  # pragma: no cover
        except Exception as exc:  # noqa: BLE001 - the pydantic error is the report
            err = str(exc)
        MISFITS.append((CURRENT[0], method, params, err))
    return note


CodexClient._coerce_notification = _recording_coerce


class Timeout(Exception):
    pass


def _alarm(_sig, _frame):
    # The SDK blocks without timeouts (queue.get); a hung server must fail the test, not CI.
    raise Timeout("test exceeded %ss (wright stopped answering?)" % TEST_TIMEOUT)


def unwrap(item):
    return getattr(item, "root", item)


class SdkTest(unittest.TestCase):
    def setUp(self):
        CURRENT[0] = self.id().split(".", 1)[-1]
        self.misfits_before = len(MISFITS)
        self.tmp = tempfile.mkdtemp(prefix="wright-pyclient-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.repo = os.path.join(self.tmp, "repo")
        os.makedirs(os.path.join(self.repo, ".git"))
        self.home = os.path.join(self.tmp, "home")
        self.model = None
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(TEST_TIMEOUT)
        self.addCleanup(signal.alarm, 0)

    def mock(self, steps):
        self.model = C.Mock(steps, self.tmp)
        self.addCleanup(self.model.close)
        C.write_config(self.home, self.model.url)
        return self.model

    def config(self, **kw):
        kw.setdefault("codex_bin", C.WRIGHT)
        kw.setdefault("cwd", self.repo)
        kw.setdefault("env", C.server_env(self.home))
        return CodexConfig(**kw)

    def codex(self, **kw):
        codex = Codex(self.config(**kw))
        self.addCleanup(codex.close)
        return codex

    def low_level(self, approval_handler=None):
        """The SDK's typed JSON-RPC client: the only layer with an approval handler."""
        client = CodexClient(self.config(), approval_handler=approval_handler)
        self.addCleanup(client.close)
        client.start()
        client.initialize()
        return client

    def thread(self, codex, **kw):
        # ApprovalMode.deny_all = approvalPolicy "never" and no approvalsReviewer (the SDK's
        # default, auto_review, is covered by its own test).
        kw.setdefault("approval_mode", ApprovalMode.deny_all)
        kw.setdefault("sandbox", Sandbox.workspace_write)
        kw.setdefault("cwd", self.repo)
        return codex.thread_start(**kw)

    def assertWireTyped(self):
        """Every notification of this test parsed into the SDK's typed model."""
        mine = MISFITS[self.misfits_before:]
        self.assertEqual(
            mine, [],
            "notifications the SDK could not type (it would silently drop their fields):\n"
            + "\n".join("%s %s\n  %s" % (m, json.dumps(p)[:800], e[:800]) for _, m, p, e in mine),
        )

    def notifications(self, method):
        """Params of this test's notifications of `method`, including those the SDK routes to
        its global queue (no turnId) rather than to a turn's stream."""
        return [p for t, m, p in NOTIFICATIONS if t == CURRENT[0] and m == method]

    def assertModelSaw(self, body, *needles):
        text = json.dumps(body.get("input"))
        for needle in needles:
            self.assertIn(needle, text)


def drain_turn(client, turn_id):
    """Every notification of one turn through the low-level client, up to turn/completed."""
    client.register_turn_notifications(turn_id)
    events = []
    try:
        while True:
            note = client.next_turn_notification(turn_id)
            events.append(note)
            if note.method == "turn/completed" and isinstance(note.payload, TurnCompletedNotification):
                return events
    finally:
        client.unregister_turn_notifications(turn_id)


def completed_items(events, kind):
    return [
        unwrap(e.payload.item) for e in events
        if isinstance(e.payload, ItemCompletedNotification) and isinstance(unwrap(e.payload.item), kind)
    ]


# --------------------------------------------------------------------------------------------
class Start(SdkTest):
    def test_initialize_and_thread_start(self):
        self.mock([message("unused")])
        codex = self.codex()
        meta = codex.metadata
        # The SDK derives the server's name/version from userAgent (Codex sends no serverInfo)
        # and gates newer request fields on that version being >= 0.151.0.
        self.assertTrue(meta.userAgent)
        self.assertIn("wright/", meta.userAgent)
        self.assertEqual(meta.platformFamily, "unix")
        version = meta.serverInfo.version.split()[0]
        major, minor = (int(x) for x in version.split(".")[:2])
        self.assertGreaterEqual((major, minor), (0, 151), meta)
        thread = self.thread(codex)
        read = thread.read().thread
        self.assertEqual(read.id, thread.id)
        self.assertEqual(read.cwd.root, os.path.realpath(self.repo))
        self.assertTrue(codex.models().data, "model/list returned no model")
        self.assertWireTyped()

    def test_default_thread_start(self):
        """`codex.thread_start()` with the SDK's defaults (approval_mode=auto_review sends
        approvalPolicy "on-request" + approvalsReviewer "auto_review") and a turn on it."""
        self.mock([message("default settings work")])
        codex = self.codex()
        thread = codex.thread_start()
        result = thread.run("hello")
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "default settings work")
        self.assertWireTyped()

    def test_default_auto_review_decides_approvals(self):
        """Under the SDK's default auto_review, a command that needs approval is decided by a
        reviewer model (the next model request) and the SDK types the review notifications."""
        target = os.path.join(self.repo, ".git", "SDK_AUTO")
        escalated = {"type": "function_call", "name": "exec_command", "call_id": "call_sdk",
                     "arguments": json.dumps({"cmd": "touch .git/SDK_AUTO",
                                              "sandbox_permissions": "require_escalated",
                                              "justification": "the user asked"})}
        verdict = json.dumps({"outcome": "allow", "risk_level": "low",
                              "user_authorization": "high", "rationale": "requested"})
        m = self.mock([reply(escalated), message(verdict), message("marker made")])
        codex = self.codex()
        thread = codex.thread_start(cwd=self.repo, sandbox=Sandbox.workspace_write)
        result = thread.run("create the SDK_AUTO marker in .git")
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "marker made")
        self.assertTrue(os.path.exists(target), "the reviewed command did not run")
        done = self.notifications("item/autoApprovalReview/completed")
        self.assertEqual([d["review"]["status"] for d in done], ["approved"])
        self.assertEqual(len(self.notifications("item/autoApprovalReview/started")), 1)
        self.assertIn("approval reviewer", m.wait_requests(3)[1]["instructions"])
        self.assertWireTyped()

    def test_account_read(self):
        """`codex.account()` (account/read): a custom provider needs no OpenAI login."""
        self.mock([message("unused")])
        account = self.codex().account()
        self.assertIsNone(account.account)
        self.assertFalse(account.requires_openai_auth)
        self.assertWireTyped()

    def test_config_overrides_reach_the_server(self):
        """CodexConfig.config_overrides become `--config k=v` BEFORE `app-server` (Codex's
        global flag): `wright --config model="..." app-server --listen stdio://`."""
        m = self.mock([message("overridden")])
        codex = self.codex(config_overrides=('model="override-model-7"',))
        result = self.thread(codex).run("which model?")
        self.assertEqual(result.final_response, "overridden")
        self.assertEqual(m.wait_requests(1)[0]["model"], "override-model-7")
        self.assertWireTyped()


# --------------------------------------------------------------------------------------------
class StreamedTurn(SdkTest):
    def test_stream_deltas_and_final_text(self):
        final = "Streaming works: alpha beta gamma delta epsilon."
        m = self.mock([message(final), message("Second answer.")])
        codex = self.codex()
        thread = self.thread(codex)
        handle = thread.turn("PROMPT-STREAM please")
        self.assertEqual(handle.thread_id, thread.id)
        events = list(handle.stream())
        methods = [e.method for e in events]
        self.assertEqual(methods[0], "turn/started", methods)
        self.assertEqual(methods[-1], "turn/completed", methods)
        deltas = [e.payload for e in events if e.method == "item/agentMessage/delta"]
        self.assertTrue(all(isinstance(d, AgentMessageDeltaNotification) for d in deltas))
        self.assertGreaterEqual(len(deltas), 2, "the reply was not streamed in pieces: %s" % methods)
        self.assertEqual("".join(d.delta for d in deltas), final)
        self.assertTrue(all(d.turn_id == handle.id and d.thread_id == thread.id for d in deltas))
        agent = completed_items(events, AgentMessageThreadItem)
        self.assertEqual([a.text for a in agent], [final])
        self.assertEqual({d.item_id for d in deltas}, {agent[0].id})
        # deltas come before their item completes
        last_delta = max(i for i, e in enumerate(events) if e.method == "item/agentMessage/delta")
        done_at = [i for i, e in enumerate(events) if isinstance(e.payload, ItemCompletedNotification)
                   and unwrap(e.payload.item).id == agent[0].id][0]
        self.assertLess(last_delta, done_at)
        users = completed_items(events, UserMessageThreadItem)
        self.assertEqual(len(users), 1)
        self.assertIn("PROMPT-STREAM please", json.dumps(users[0].model_dump(mode="json")))
        done = events[-1].payload
        self.assertEqual(done.turn.id, handle.id)
        self.assertEqual(done.turn.status, TurnStatus.completed)
        self.assertIsNone(done.turn.error)
        self.assertModelSaw(m.wait_requests(1)[0], "PROMPT-STREAM please")

        # thread.run(): the collected result, with the first turn in the model's context
        result = thread.run("PROMPT-TWO")
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "Second answer.")
        self.assertIsNotNone(result.usage, "no thread/tokenUsage/updated for the turn")
        self.assertGreater(result.usage.last.input_tokens, 0)
        self.assertModelSaw(m.wait_requests(2)[1], "PROMPT-STREAM please", final, "PROMPT-TWO")
        self.assertWireTyped()

    def test_low_level_stream_text(self):
        final = "low level deltas arrive in order"
        self.mock([message(final)])
        client = self.low_level()
        tid = client.thread_start({"cwd": self.repo, "approvalPolicy": "never"}).thread.id
        deltas = list(client.stream_text(tid, "stream it"))
        self.assertGreaterEqual(len(deltas), 2)
        self.assertEqual("".join(d.delta for d in deltas), final)
        self.assertWireTyped()

    def test_async_client_streams(self):
        final = "async streaming is fine too"
        self.mock([message(final)])

        async def go():
            async with AsyncCodex(self.config()) as codex:
                thread = await codex.thread_start(
                    approval_mode=ApprovalMode.deny_all, cwd=self.repo)
                handle = await thread.turn("async please")
                events = [e async for e in handle.stream()]
                return thread.id, handle.id, events

        tid, turn_id, events = asyncio.run(go())
        deltas = [e.payload.delta for e in events if e.method == "item/agentMessage/delta"]
        self.assertGreaterEqual(len(deltas), 2)
        self.assertEqual("".join(deltas), final)
        self.assertEqual(events[-1].payload.turn.status, TurnStatus.completed)
        self.assertEqual(events[-1].payload.turn.id, turn_id)
        self.assertWireTyped()


# --------------------------------------------------------------------------------------------
class Approvals(SdkTest):
    def run_with_decision(self, decision, cmd, call_id, followup):
        asked = []

        def handler(method, params):
            asked.append((method, params))
            if method == "item/commandExecution/requestApproval":
                return {"decision": decision}
            return {}

        m = self.mock([reply(exec_call(cmd, call_id)), message(followup)])
        client = self.low_level(approval_handler=handler)
        # "untrusted": anything not known to be read-only asks first.
        tid = client.thread_start({"cwd": self.repo, "approvalPolicy": "untrusted",
                                   "sandbox": "workspace-write"}).thread.id
        turn_id = client.turn_start(tid, "run it").turn.id
        events = drain_turn(client, turn_id)
        return m, tid, turn_id, asked, events

    def assertAsked(self, asked, tid, turn_id, call_id, needle):
        self.assertEqual([a[0] for a in asked], ["item/commandExecution/requestApproval"], asked)
        params = asked[0][1]
        # Required by Codex's CommandExecutionRequestApprovalParams.
        for key in ("threadId", "turnId", "itemId"):
            self.assertIn(key, params)
        self.assertEqual(params["threadId"], tid)
        self.assertEqual(params["turnId"], turn_id)
        self.assertEqual(params["itemId"], call_id)
        self.assertIn(needle, params.get("command") or "")

    def test_command_approval_accepted(self):
        cmd = "python3 -c 'print(\"approved-output-42\")'"
        m, tid, turn_id, asked, events = self.run_with_decision("accept", cmd, "call_acc", "Ran it.")
        self.assertAsked(asked, tid, turn_id, "call_acc", "approved-output-42")
        done = events[-1].payload.turn
        self.assertEqual(done.status, TurnStatus.completed, done)
        cmds = completed_items(events, CommandExecutionThreadItem)
        self.assertEqual(len(cmds), 1, [e.method for e in events])
        self.assertEqual(cmds[0].id, "call_acc")
        self.assertEqual(cmds[0].status.value, "completed")
        self.assertEqual(cmds[0].exit_code, 0)
        self.assertIn("approved-output-42", cmds[0].aggregated_output or "")
        resolved = self.notifications("serverRequest/resolved")
        self.assertEqual([r["threadId"] for r in resolved], [tid], "no serverRequest/resolved")
        self.assertEqual([a.text for a in completed_items(events, AgentMessageThreadItem)], ["Ran it."])
        self.assertModelSaw(m.wait_requests(2)[1], "approved-output-42")
        self.assertWireTyped()

    def test_command_approval_declined(self):
        marker = os.path.join(self.repo, "DECLINED_RAN")
        m, tid, turn_id, asked, events = self.run_with_decision(
            "decline", "touch DECLINED_RAN", "call_dec", "Not running it.")
        self.assertAsked(asked, tid, turn_id, "call_dec", "DECLINED_RAN")
        self.assertEqual(events[-1].payload.turn.status, TurnStatus.completed)
        cmds = completed_items(events, CommandExecutionThreadItem)
        self.assertEqual(len(cmds), 1)
        self.assertEqual(cmds[0].status.value, "declined")
        self.assertFalse(os.path.exists(marker), "a declined command ran")
        bodies = m.wait_requests(2)
        outputs = [i for i in bodies[1]["input"]
                   if i.get("type") == "function_call_output" and i.get("call_id") == "call_dec"]
        self.assertEqual(len(outputs), 1, "the model was not told about the declined call")
        self.assertRegex(json.dumps(outputs[0]["output"]).lower(), r"declin|reject|denied|not approved")
        self.assertEqual([a.text for a in completed_items(events, AgentMessageThreadItem)], ["Not running it."])
        self.assertWireTyped()

    def test_command_approval_cancelled(self):
        """`cancel` declines the command and interrupts the turn (Codex)."""
        marker = os.path.join(self.repo, "CANCELLED_RAN")
        m, tid, turn_id, asked, events = self.run_with_decision(
            "cancel", "touch CANCELLED_RAN", "call_can", "never sent")
        self.assertAsked(asked, tid, turn_id, "call_can", "CANCELLED_RAN")
        done = events[-1].payload.turn
        self.assertEqual(done.status, TurnStatus.interrupted, done)
        self.assertIsNone(done.error)
        self.assertFalse(os.path.exists(marker), "a cancelled command ran")
        self.assertEqual(len(m.bodies()), 1, "the turn went on to the model after a cancel")
        self.assertEqual(completed_items(events, AgentMessageThreadItem), [])
        self.assertWireTyped()

    def test_default_handler_accepts(self):
        """No handler given: the SDK's default answers {"decision": "accept"}."""
        marker = os.path.join(self.repo, "DEFAULT_ACCEPTED")
        self.mock([reply(exec_call("touch DEFAULT_ACCEPTED", "call_def")), message("done")])
        client = self.low_level()
        tid = client.thread_start({"cwd": self.repo, "approvalPolicy": "untrusted",
                                   "sandbox": "workspace-write"}).thread.id
        done = client.wait_for_turn_completed(client.turn_start(tid, "touch it").turn.id)
        self.assertEqual(done.turn.status, TurnStatus.completed)
        self.assertTrue(os.path.exists(marker), "the accepted command did not run")
        self.assertWireTyped()


# --------------------------------------------------------------------------------------------
class TurnControl(SdkTest):
    def test_interrupt_running_turn(self):
        # The model takes 30 s to answer the first request: the turn is mid-stream.
        m = self.mock([delay(30000, message("too late")), message("after the interrupt")])
        codex = self.codex()
        thread = self.thread(codex)
        handle = thread.turn("take your time")
        self.assertEqual(len(m.wait_requests(1, 15)), 1, "the turn never reached the model")
        t0 = time.time()
        self.assertIsNotNone(handle.interrupt())
        events = list(handle.stream())
        self.assertLess(time.time() - t0, 10, "interrupt took too long")
        done = events[-1].payload
        self.assertIsInstance(done, TurnCompletedNotification)
        self.assertEqual(done.turn.id, handle.id)
        self.assertEqual(done.turn.status, TurnStatus.interrupted)
        self.assertIsNone(done.turn.error)
        # An interrupt is not an error: Codex sends no `error` notification and no agent text.
        self.assertNotIn("error", [e.method for e in events])
        self.assertEqual(completed_items(events, AgentMessageThreadItem), [])
        # Interrupting a finished turn is refused; the thread takes a new turn.
        with self.assertRaises(JsonRpcError):
            handle.interrupt()
        result = thread.run("go on")
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "after the interrupt")
        history = thread.read(include_turns=True).thread.turns
        self.assertEqual([t.status for t in history], [TurnStatus.interrupted, TurnStatus.completed])
        self.assertWireTyped()

    def test_steer(self):
        m = self.mock([delay(1500, message("first answer")), message("steered answer")])
        codex = self.codex()
        thread = self.thread(codex)
        handle = thread.turn("original prompt")
        self.assertEqual(len(m.wait_requests(1, 15)), 1)
        steered = handle.steer("STEERED-INPUT")
        self.assertEqual(steered.turn_id, handle.id)
        result = handle.run()
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "steered answer")
        bodies = m.wait_requests(2)
        self.assertNotIn("STEERED-INPUT", json.dumps(bodies[0]))
        self.assertModelSaw(bodies[1], "original prompt", "STEERED-INPUT")
        self.assertWireTyped()

    def test_turn_on_a_busy_thread_joins_the_active_turn(self):
        """`Thread.turn()` "starts a turn or joins an active regular turn": Codex answers a
        turn/start on a thread whose turn is running by adding the input to that turn and
        returning it (TurnStartParams: "Ignored when this request adds input to an active
        turn")."""
        m = self.mock([delay(1500, message("first answer")), message("joined answer")])
        codex = self.codex()
        thread = self.thread(codex)
        handle = thread.turn("original prompt")
        self.assertEqual(len(m.wait_requests(1, 15)), 1)
        joined = thread.turn("JOINED-INPUT")
        self.assertEqual(joined.id, handle.id)
        result = handle.run()
        self.assertEqual(result.status, TurnStatus.completed)
        self.assertEqual(result.final_response, "joined answer")
        self.assertModelSaw(m.wait_requests(2)[1], "JOINED-INPUT")
        self.assertWireTyped()

    def test_external_message_reaches_the_model(self):
        """`thread.run(ExternalMessage(...))` sends turn/start with `input: []` and the content
        in `toolOutput` (TurnToolOutput {name, namespace, output})."""
        m = self.mock([message("I read the webhook.")])
        codex = self.codex()
        result = self.thread(codex).run(ExternalMessage(tool_name="webhook", content="EXTERNAL-CONTENT-77"))
        self.assertEqual(result.final_response, "I read the webhook.")
        self.assertModelSaw(m.wait_requests(1)[0], "EXTERNAL-CONTENT-77")
        self.assertWireTyped()


# --------------------------------------------------------------------------------------------
class ResumeForkArchive(SdkTest):
    def first_turn(self, codex, prompt="PROMPT-ONE please"):
        thread = self.thread(codex)
        result = thread.run(prompt)
        self.assertEqual(result.status, TurnStatus.completed)
        return thread, result

    def test_resume_in_a_fresh_process(self):
        m = self.mock([message("ANSWER-ONE zebra"), message("ANSWER-TWO")])
        first = self.codex()
        thread, r1 = self.first_turn(first)
        self.assertEqual(r1.final_response, "ANSWER-ONE zebra")
        first.close()

        second = self.codex()  # a new `wright app-server` process
        resumed = second.thread_resume(thread.id, include_turns=True)
        self.assertEqual(resumed.id, thread.id)
        turns = resumed.read(include_turns=True).thread.turns
        self.assertEqual([t.id for t in turns], [r1.id])
        self.assertEqual(turns[0].status, TurnStatus.completed)
        items = [unwrap(i) for i in turns[0].items]
        self.assertIn("PROMPT-ONE please", json.dumps([i.model_dump(mode="json") for i in items]))
        self.assertIn("ANSWER-ONE zebra", [getattr(i, "text", None) for i in items])
        # The model's context is restored too, not only the display history.
        r2 = resumed.run("PROMPT-TWO")
        self.assertEqual(r2.final_response, "ANSWER-TWO")
        self.assertModelSaw(m.wait_requests(2)[1], "PROMPT-ONE please", "ANSWER-ONE zebra", "PROMPT-TWO")
        self.assertWireTyped()

    def test_resume_response_carries_history(self):
        """The low-level resume response itself holds the turns (Codex's default)."""
        self.mock([message("ANSWER-ONE zebra")])
        first = self.codex()
        thread, r1 = self.first_turn(first)
        first.close()
        client = self.low_level()
        res = client.thread_resume(thread.id, {})
        self.assertEqual(res.thread.id, thread.id)
        self.assertEqual([t.id for t in res.thread.turns], [r1.id])
        self.assertEqual(res.approval_policy.root.value, "never")
        self.assertWireTyped()

    def test_fork(self):
        m = self.mock([message("forked content"), message("fork continues")])
        codex = self.codex()
        thread, r1 = self.first_turn(codex)
        fork = codex.thread_fork(thread.id)
        self.assertNotEqual(fork.id, thread.id)
        forked = fork.read(include_turns=True).thread
        self.assertEqual(forked.forked_from_id, thread.id)
        self.assertEqual(len(forked.turns), 1)
        self.assertIn("forked content", [getattr(unwrap(i), "text", None) for i in forked.turns[0].items])
        r2 = fork.run("continue in the fork")
        self.assertEqual(r2.final_response, "fork continues")
        self.assertModelSaw(m.wait_requests(2)[1], "PROMPT-ONE please", "forked content", "continue in the fork")
        original = thread.read(include_turns=True).thread
        self.assertEqual(len(original.turns), 1, "the fork's turn leaked into the original")
        ids = {t.id for t in codex.thread_list().data}
        self.assertLessEqual({thread.id, fork.id}, ids)
        self.assertWireTyped()

    def test_archive_unarchive_list(self):
        self.mock([message("kept"), message("archived one")])
        codex = self.codex()
        keep, _ = self.first_turn(codex)
        gone, _ = self.first_turn(codex, "archive me")
        gone.set_name("To Be Archived")

        def ids(archived=None):
            return [t.id for t in codex.thread_list(archived=archived, limit=50).data]

        self.assertLessEqual({keep.id, gone.id}, set(ids()))
        listed = {t.id: t for t in codex.thread_list(limit=50).data}
        self.assertEqual(listed[gone.id].name, "To Be Archived")
        codex.thread_archive(gone.id)
        self.assertNotIn(gone.id, ids())
        self.assertIn(keep.id, ids())
        self.assertIn(gone.id, ids(archived=True))
        self.assertNotIn(keep.id, ids(archived=True))
        back = codex.thread_unarchive(gone.id)
        self.assertEqual(back.id, gone.id)
        self.assertIn(gone.id, ids())
        self.assertNotIn(gone.id, ids(archived=True))
        self.assertWireTyped()

    def test_archive_notifications(self):
        self.mock([message("x")])
        client = self.low_level()
        tid = client.thread_start({"cwd": self.repo, "approvalPolicy": "never"}).thread.id
        client.wait_for_turn_completed(client.turn_start(tid, "hi").turn.id)
        client.thread_archive(tid)
        client.thread_unarchive(tid)
        seen = []
        deadline = time.time() + 10
        while time.time() < deadline and "thread/unarchived" not in [s[0] for s in seen]:
            note = client.next_notification()
            seen.append((note.method, note.payload))
        archived = [p for mth, p in seen if mth == "thread/archived"]
        unarchived = [p for mth, p in seen if mth == "thread/unarchived"]
        self.assertEqual([p.thread_id for p in archived], [tid])
        self.assertEqual([p.thread_id for p in unarchived], [tid])
        self.assertWireTyped()


class ZSdkVersion(unittest.TestCase):
    def test_pinned_sdk(self):
        """CI installs the pinned SDK; a different one means .ci/run and this suite disagree."""
        if os.environ.get("CI") != "true":
            self.skipTest("only enforced under CI")
        self.assertEqual(openai_codex.__version__, PINNED_SDK)


if __name__ == "__main__":
    unittest.main()
