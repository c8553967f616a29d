#!/usr/bin/env python3
"""End-to-end check of launcher.py (plain unittest, no pytest).

Starts the launcher on a free port as a subprocess, waits for ``GET /moto-api/`` and then:
  * proves serialization: 40 concurrent TransactWriteItems debits (condition
    ``balance >= :one``, plus a ledger Put in the same transaction) against a balance
    of 25 must accept exactly 25, leave balance 0 and exactly 25 ledger rows;
  * publishes SMS through SNS (with and without SenderID/SMSType) -> ``/_local/sms``;
  * verifies an SES identity and sends via SESv2 (Simple and Raw) and SES v1 ->
    ``/_local/emails``; an unverified sender is rejected and not recorded;
  * ``POST /_local/reset-outbox`` empties both lists;
  * ``GET /_local/requests?app=<id>`` meters the requests of one AWS SDK application id
    (DynamoDB read and write units included), and ``POST /moto-api/reset`` clears it.
Plus an in-process check of the DynamoDB item size the meter computes.

Run with the interpreter that has ``moto[server]`` (see requirements.txt):
    python tools/aws-emulator/test_launcher.py
Exit code is non-zero on failure.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import launcher  # noqa: E402  (importing it does not import moto)

LAUNCHER = HERE / "launcher.py"
RFC3339_MILLIS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ItemSizeTest(unittest.TestCase):
    """``launcher.dynamo_item_size`` (DynamoDB JSON) against moto's own ``Item.size()``."""

    ITEM = {
        "pk": {"S": "user#é"},  # 2 + 7 (é is 2 bytes)
        "n": {"N": "-12.50"},  # 1 + 6 (moto: len(str))
        "b": {"B": "AAEC"},  # 1 + 3 decoded bytes
        "t": {"BOOL": True},  # 1 + 1
        "z": {"NULL": True},  # 1 + 1
        "l": {"L": [{"S": "ab"}, {"N": "7"}]},  # 1 + 2 + 1
        "m": {"M": {"k": {"S": "v"}, "kk": {"BOOL": False}}},  # 1 + (1 + 1) + (2 + 1)
        "ss": {"SS": ["a", "bcd"]},  # 2 + 4
        "ns": {"NS": ["1", "23"]},  # 2 + 3
        "bs": {"BS": ["AA==", "AAA="]},  # 2 + 3
    }

    def test_sizes(self) -> None:
        size = launcher.dynamo_value_size
        self.assertEqual(size({"S": "héllo"}), 6)
        self.assertEqual(size({"N": "100"}), 3)
        self.assertEqual(size({"B": "AAECAw=="}), 4)
        self.assertEqual(size({"BOOL": False}), 1)
        self.assertEqual(size({"NULL": True}), 1)
        self.assertEqual(size({"L": [{"S": "ab"}, {"NULL": True}]}), 3)
        self.assertEqual(size({"M": {"key": {"S": "ab"}}}), 5)
        self.assertEqual(size({"SS": ["a", "bc"]}), 3)
        self.assertEqual(size({"NS": ["1", "-2.5"]}), 5)
        self.assertEqual(size({"BS": ["AA==", "AAE="]}), 3)
        self.assertEqual(launcher.dynamo_item_size(self.ITEM), 50)

    def test_same_as_moto(self) -> None:
        import base64

        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        # moto keeps B values decoded (as the request parser hands them over)
        stored = dict(self.ITEM, b={"B": base64.b64decode("AAEC")}, bs={"BS": [b"\0", b"\0\0"]})
        item = Item(DynamoType(stored["pk"]), None, stored)
        self.assertEqual(launcher.dynamo_item_size(self.ITEM), item.size())


class IndexWriteTest(unittest.TestCase):
    """``launcher.DynamoCost.index_write_units``: what a write costs in each global secondary index."""

    def test_entering_leaving_moving_and_projected_changes(self) -> None:
        units = launcher.DynamoCost.index_write_units
        entry = (("k1",), None)
        self.assertEqual(units([None], [entry]), 1, "an item enters the index")
        self.assertEqual(units([entry], [None]), 1, "an item leaves it")
        self.assertEqual(units([entry], [(("k2",), None)]), 2, "its index key changes: delete and put")
        self.assertEqual(units([entry], [entry]), 0, "a keys-only entry is untouched by other attributes")
        self.assertEqual(units([(("k1",), "old")], [(("k1",), "new")]), 1, "a projected attribute changes")
        self.assertEqual(units([None, entry], [entry, None]), 2, "per index")


class LauncherTest(unittest.TestCase):
    proc: subprocess.Popen
    base: str

    @classmethod
    def setUpClass(cls) -> None:
        port = free_port()
        cls.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.pop("MOTO_PORT", None)
        env["LIGHTOTP_AWS_PORT"] = str(port)  # exercised: no --port given
        cls.proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        cls.stderr_lines: list[str] = []
        cls._stderr_reader = threading.Thread(target=cls._drain_stderr, daemon=True)
        cls._stderr_reader.start()

        deadline = time.monotonic() + 60
        while True:
            if cls.proc.poll() is not None:
                raise RuntimeError(
                    f"launcher exited with {cls.proc.returncode}:\n" + "".join(cls.stderr_lines)
                )
            try:
                with urllib.request.urlopen(cls.base + "/moto-api/", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                cls._stop()
                raise RuntimeError("launcher did not answer GET /moto-api/ within 60 s")
            time.sleep(0.2)

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        cls.session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
        )

    @classmethod
    def _drain_stderr(cls) -> None:
        assert cls.proc.stderr is not None
        for line in cls.proc.stderr:
            cls.stderr_lines.append(line)

    @classmethod
    def _stop(cls) -> None:
        if cls.proc.poll() is None:
            cls.proc.terminate()
            try:
                cls.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()

    @classmethod
    def tearDownClass(cls) -> None:
        cls._stop()
        cls._stderr_reader.join(timeout=5)
        if cls.proc.stderr is not None:
            cls.proc.stderr.close()

    # ------------------------------------------------------------------ helpers

    def client(self, service: str, **config: object):
        return self.session.client(
            service,
            endpoint_url=self.base,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
        )

    def http(self, method: str, path: str) -> tuple[int, object]:
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read().decode("utf-8") or "null")

    def raw_aws(self, service: str, body: bytes, headers: dict[str, str]) -> int:
        """POST a signed-looking request (moto does not check signatures); its status."""
        scope = f"test/20260101/{REGION}/{service}/aws4_request"
        headers = {
            "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=0",
            "X-Amz-Date": "20260101T000000Z",
            **headers,
        }
        req = urllib.request.Request(self.base + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def metered(self, app: str) -> dict[tuple[str, str], dict]:
        """``GET /_local/requests?app=...`` as {(service, action): row}; checks the shape."""
        status, body = self.http("GET", f"/_local/requests?app={app}")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["app"], app)  # type: ignore[index]
        rows = body["requests"]  # type: ignore[index]
        keys = [(r["service"], r["action"]) for r in rows]
        self.assertEqual(keys, sorted(keys), "rows are sorted by (service, action)")
        return {key: row for key, row in zip(keys, rows)}

    @staticmethod
    def create_table(ddb: Any, prefix: str, sort_key: bool = False, index_key: str | None = None) -> str:
        """A new on-demand table keyed by the strings ``pk`` (and ``sk``), with a keys-only global index on
        ``index_key`` if given; returns its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        keys = ["pk", "sk"] if sort_key else ["pk"]
        spec: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": a, "AttributeType": "S"} for a in keys + ([index_key] if index_key else [])
            ],
            "KeySchema": [{"AttributeName": a, "KeyType": t} for a, t in zip(keys, ["HASH", "RANGE"])],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if index_key:
            spec["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": f"{index_key}-index",
                    "KeySchema": [{"AttributeName": index_key, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ]
        ddb.create_table(**spec)
        return name

    def get_json(self, path: str) -> list:
        status, body = self.http("GET", path)
        self.assertEqual(status, 200, body)
        self.assertIsInstance(body, list)
        return body  # type: ignore[return-value]

    # ------------------------------------------------------------------ tests

    def test_1_transactions_are_serialized(self) -> None:
        ddb = self.client("dynamodb", max_pool_connections=64)
        table = self.create_table(ddb, "wallet")
        ddb.put_item(TableName=table, Item={"pk": {"S": "wallet#1"}, "balance": {"N": "25"}})

        attempts = 40
        barrier = threading.Barrier(attempts)

        def debit(i: int) -> str:
            barrier.wait()
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"pk": {"S": "wallet#1"}},
                                "UpdateExpression": "SET balance = balance - :one",
                                "ConditionExpression": "balance >= :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"pk": {"S": f"ledger#{i}"}, "amount": {"N": "-1"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                return "ok"
            except ClientError as err:
                return err.response["Error"]["Code"]

        with ThreadPoolExecutor(max_workers=attempts) as pool:
            results = list(pool.map(debit, range(attempts)))

        accepted = results.count("ok")
        cancelled = results.count("TransactionCanceledException")
        self.assertEqual(accepted, 25, f"results: {sorted(set(results))}")
        self.assertEqual(cancelled, attempts - 25, f"unexpected errors: {sorted(set(results))}")

        item = ddb.get_item(TableName=table, Key={"pk": {"S": "wallet#1"}}, ConsistentRead=True)["Item"]
        self.assertEqual(item["balance"]["N"], "0")
        ledger = ddb.scan(
            TableName=table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "ledger#"}},
            ConsistentRead=True,
        )
        self.assertEqual(ledger["Count"], 25, "a cancelled transaction left its Put behind")

    def test_1b_a_cancelled_transaction_puts_back_what_it_had_changed(self) -> None:
        ddb = self.client("dynamodb")
        ranged, plain = self.create_table(ddb, "ranged", sort_key=True), self.create_table(ddb, "plain")
        kept = {"pk": {"S": "a"}, "sk": {"S": "1"}}
        ddb.put_item(TableName=ranged, Item={**kept, "v": {"N": "1"}})
        ddb.put_item(TableName=plain, Item={"pk": {"S": "p"}, "v": {"N": "1"}})

        def transaction(last_condition: str) -> str:
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": ranged,
                                "Key": kept,
                                "UpdateExpression": "SET v = :two",
                                "ExpressionAttributeValues": {":two": {"N": "2"}},
                            }
                        },
                        {"Put": {"TableName": ranged, "Item": {"pk": {"S": "a"}, "sk": {"S": "2"}}}},
                        {"Delete": {"TableName": plain, "Key": {"pk": {"S": "p"}}}},
                        {"Put": {"TableName": plain, "Item": {"pk": {"S": "q"}}}},
                        {
                            "ConditionCheck": {
                                "TableName": plain,
                                "Key": {"pk": {"S": "gate"}},
                                "ConditionExpression": last_condition,
                            }
                        },
                    ]
                )
                return "ok"
            except ClientError as err:
                return err.response["Error"]["Code"]

        def state() -> tuple:
            get = lambda table, key: ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            return (
                get(ranged, kept),
                get(ranged, {"pk": {"S": "a"}, "sk": {"S": "2"}}),
                get(plain, {"pk": {"S": "p"}}),
                get(plain, {"pk": {"S": "q"}}),
            )

        before = state()
        self.assertEqual(transaction("attribute_exists(pk)"), "TransactionCanceledException")
        self.assertEqual(state(), before, "every change of the cancelled transaction was put back")
        self.assertEqual(before[0]["v"], {"N": "1"})
        self.assertIsNone(before[1])

        self.assertEqual(transaction("attribute_not_exists(pk)"), "ok")
        updated, added, deleted, put = state()
        self.assertEqual(updated["v"], {"N": "2"})
        self.assertIsNotNone(added)
        self.assertIsNone(deleted)
        self.assertIsNotNone(put)

    def test_1c_the_stream_shows_only_committed_writes_and_forgets_what_its_reader_passed(self) -> None:
        ddb = self.client("dynamodb")
        name = f"streamed-{uuid.uuid4().hex[:8]}"
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        streams = self.client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

        def read(**position: Any) -> list[dict]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
            return streams.get_records(ShardIterator=iterator)["Records"]

        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "status": {"S": "Sent"}})
        with self.assertRaises(ClientError):
            ddb.transact_write_items(
                TransactItems=[
                    {"Update": {"TableName": name, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #s = :d",
                                "ExpressionAttributeNames": {"#s": "status"},
                                "ExpressionAttributeValues": {":d": {"S": "Delivered"}}}},
                    {"Put": {"TableName": name, "Item": {"pk": {"S": "b"}},
                             "ConditionExpression": "attribute_exists(pk)"}},
                ]
            )
        ddb.put_item(TableName=name, Item={"pk": {"S": "c"}})
        records = read(ShardIteratorType="TRIM_HORIZON")
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in records], ["a", "c"],
                         "the cancelled transaction's applied update left no stream record")
        first = records[0]["dynamodb"]["SequenceNumber"]
        after = read(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=first)
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in after], ["c"])
        # The reader moved past "a": it is forgotten, and what follows is still read in order.
        ddb.put_item(TableName=name, Item={"pk": {"S": "d"}})
        self.assertEqual([r["dynamodb"]["Keys"]["pk"]["S"] for r in read(ShardIteratorType="TRIM_HORIZON")], ["c", "d"])

    def test_1d_an_injected_throttle_hits_only_its_operation_and_partition_key_and_only_count_times(self) -> None:
        # One attempt per call (the shared client's "max_attempts: 1" still retries once on throttling).
        ddb = self.session.client(
            "dynamodb", endpoint_url=self.base, config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
        )
        table = self.create_table(ddb, "throttled", sort_key=True)
        key = {"pk": {"S": "CLIENT#t"}, "sk": {"S": "x"}}
        other = {"pk": {"S": "CLIENT#other"}, "sk": {"S": "x"}}
        status, _ = self.http("POST", "/_local/dynamodb/throttle-next?operation=GetItem&pk=CLIENT%23t&count=2")
        self.assertEqual(status, 200)
        ddb.get_item(TableName=table, Key=other)  # another key: not throttled
        ddb.put_item(TableName=table, Item=key)  # another operation: not throttled
        for _ in range(2):
            with self.assertRaises(ClientError) as raised:
                ddb.get_item(TableName=table, Key=key)
            self.assertEqual(raised.exception.response["Error"]["Code"], "ProvisionedThroughputExceededException")
        self.assertIn("Item", ddb.get_item(TableName=table, Key=key), "only count times")
        status, _ = self.http("POST", "/_local/dynamodb/throttle-next?operation=GetItem")
        self.assertEqual(status, 400, "operation and pk are required")

    def test_2_sms_outbox(self) -> None:
        sns = self.client("sns")
        text = f"Your code is {uuid.uuid4().int % 1000000:06d}"
        before = len(self.get_json("/_local/sms"))
        sns.publish(
            PhoneNumber="+966551234567",
            Message=text,
            MessageAttributes={
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "LightOTP"},
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            },
        )
        sns.publish(PhoneNumber="+15555550100", Message="no attributes")
        # a topic publish is not an SMS
        topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
        sns.publish(TopicArn=topic, Message="not an sms")
        # a rejected publish is not recorded
        with self.assertRaises(ClientError):
            sns.publish(PhoneNumber="not-a-number", Message="rejected")

        sms = self.get_json("/_local/sms")[before:]
        self.assertEqual(len(sms), 2, sms)
        first, second = sms
        self.assertEqual(first["phoneNumber"], "+966551234567")
        self.assertEqual(first["message"], text)
        self.assertEqual(first["senderId"], "LightOTP")
        self.assertEqual(first["smsType"], "Transactional")
        self.assertRegex(first["sentAt"], RFC3339_MILLIS_Z)
        self.assertEqual(second["phoneNumber"], "+15555550100")
        self.assertEqual(second["message"], "no attributes")
        self.assertIsNone(second["senderId"])
        self.assertIsNone(second["smsType"])
        self.assertLessEqual(first["sentAt"], second["sentAt"])  # oldest first

        # the same SMS in another region still shows up, after the first
        self.session.client("sns", region_name="eu-west-1", endpoint_url=self.base).publish(
            PhoneNumber="+447700900123", Message="from eu-west-1"
        )
        sms = self.get_json("/_local/sms")
        self.assertEqual(sms[-1]["phoneNumber"], "+447700900123")
        self.assertEqual(sms[-1]["message"], "from eu-west-1")

    def test_3_email_outbox(self) -> None:
        sesv2 = self.client("sesv2")
        ses = self.client("ses")
        sender = "no-reply@lightotp.example"
        sesv2.create_email_identity(EmailIdentity=sender)
        before = len(self.get_json("/_local/emails"))

        sesv2.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["alice@example.com"]},
            Content={
                "Simple": {
                    "Subject": {"Data": "Your code (v2)"},
                    "Body": {"Text": {"Data": "Code: 123456"}},
                }
            },
        )
        ses.send_email(
            Source=sender,
            Destination={"ToAddresses": ["bob@example.com", "carol@example.com"]},
            Message={
                "Subject": {"Data": "Your code (v1)"},
                "Body": {"Text": {"Data": "Code: 654321"}},
            },
        )
        raw = MIMEMultipart("alternative")
        raw["Subject"] = "Raw code"
        raw["From"] = sender
        raw["To"] = "dave@example.com"
        raw.attach(MIMEText("Code: 111222", "plain", "utf-8"))
        raw.attach(MIMEText("<b>Code: 111222</b>", "html", "utf-8"))
        sesv2.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": ["dave@example.com"]},
            Content={"Raw": {"Data": raw.as_bytes()}},
        )
        with self.assertRaises(ClientError) as ctx:
            sesv2.send_email(
                FromEmailAddress="someone@unverified.example",
                Destination={"ToAddresses": ["eve@example.com"]},
                Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
            )
        self.assertEqual(ctx.exception.response["Error"]["Code"], "MessageRejected")

        emails = self.get_json("/_local/emails")[before:]
        self.assertEqual(len(emails), 3, emails)
        v2, v1, rawrec = emails
        self.assertEqual(v2["from"], sender)
        self.assertEqual(v2["to"], ["alice@example.com"])
        self.assertEqual(v2["subject"], "Your code (v2)")
        self.assertEqual(v2["body"], "Code: 123456")
        self.assertRegex(v2["sentAt"], RFC3339_MILLIS_Z)
        self.assertEqual(v1["from"], sender)
        self.assertEqual(v1["to"], ["bob@example.com", "carol@example.com"])
        self.assertEqual(v1["subject"], "Your code (v1)")
        self.assertEqual(v1["body"], "Code: 654321")
        self.assertEqual(rawrec["from"], sender)
        self.assertEqual(rawrec["to"], ["dave@example.com"])
        self.assertEqual(rawrec["subject"], "Raw code")
        self.assertEqual(rawrec["body"].strip(), "Code: 111222")
        self.assertTrue(v2["sentAt"] <= v1["sentAt"] <= rawrec["sentAt"])

    def test_4_routes_and_reset(self) -> None:
        status, body = self.http("GET", "/_local/reset-outbox")
        self.assertEqual(status, 405, body)
        status, body = self.http("POST", "/_local/sms")
        self.assertEqual(status, 405, body)
        status, body = self.http("GET", "/_local/nope")
        self.assertEqual(status, 404, body)
        # how the stack knows that the server on its port is the launcher it started
        self.assertEqual(self.http("GET", "/_local/health"), (200, {"ok": True, "pid": self.proc.pid}))

        self.client("sns").publish(PhoneNumber="+966551234567", Message="before reset")
        self.assertTrue(self.get_json("/_local/sms"))
        status, body = self.http("POST", "/_local/reset-outbox")
        self.assertEqual(status, 200, body)
        self.assertGreaterEqual(body["cleared"]["sms"], 1)  # type: ignore[index]
        self.assertEqual(self.get_json("/_local/sms"), [])
        self.assertEqual(self.get_json("/_local/emails"), [])

        # moto still works after the reset, and records again
        self.client("sns").publish(PhoneNumber="+966551234567", Message="after reset")
        self.assertEqual([s["message"] for s in self.get_json("/_local/sms")], ["after reset"])

    def test_6_request_meter(self) -> None:
        app = "test-xyz"
        ddb = self.client("dynamodb", user_agent_appid=app)  # "app/test-xyz" in its User-Agent
        table = self.create_table(ddb, "meter", sort_key=True)

        def row(action: str, service: str = "dynamodb") -> dict:
            return self.metered(app).get((service, action)) or {}

        def units(action: str) -> tuple[int, dict, float, float]:
            r = row(action)
            return r.get("count", 0), r.get("statuses"), r.get("readUnits"), r.get("writeUnits")

        key_a = {"pk": {"S": "user#1"}, "sk": {"S": "a"}}
        ddb.put_item(TableName=table, Item={**key_a, "v": {"S": "x"}})
        self.assertEqual(units("PutItem"), (1, {"200": 1}, 0.0, 1.0))
        self.assertEqual(row("CreateTable")["writeUnits"], 0.0)

        with self.assertRaises(ClientError) as ctx:
            ddb.update_item(
                TableName=table,
                Key=key_a,
                UpdateExpression="SET v = :v",
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeValues={":v": {"S": "y"}},
            )
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ConditionalCheckFailedException")
        self.assertEqual(units("UpdateItem"), (1, {"400": 1}, 0.0, 1.0))

        ddb.get_item(TableName=table, Key=key_a, ConsistentRead=True)
        self.assertEqual(units("GetItem"), (1, {"200": 1}, 1.0, 0.0))
        ddb.get_item(TableName=table, Key=key_a)
        self.assertEqual(units("GetItem"), (2, {"200": 2}, 1.5, 0.0))
        ddb.get_item(TableName=table, Key={"pk": {"S": "nobody"}, "sk": {"S": "a"}})  # absent: still 0.5
        self.assertEqual(units("GetItem"), (3, {"200": 3}, 2.0, 0.0))

        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "user#1"}, "sk": {"S": "b"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": "user#2"}, "sk": {"S": "a"}}}},
            ]
        )
        self.assertEqual(units("TransactWriteItems"), (1, {"200": 1}, 0.0, 4.0))

        found = ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "user#1"}},
        )
        self.assertEqual(found["Count"], 2)
        self.assertEqual(units("Query"), (1, {"200": 1}, 0.5, 0.0))

        big = {"pk": {"S": "user#3"}, "sk": {"S": "a"}, "blob": {"S": "x" * 1500}}  # 1 KB < size <= 2 KB
        ddb.put_item(TableName=table, Item=big)
        self.assertEqual(units("PutItem"), (2, {"200": 2}, 0.0, 3.0))

        indexed = self.create_table(ddb, "indexed", index_key="g")
        ddb.put_item(TableName=indexed, Item={"pk": {"S": "i"}, "g": {"S": "one"}})
        self.assertEqual(units("PutItem")[3], 3.0 + 2.0, "the item and its index entry")

        def update(expression: str, values: dict | None = None) -> float:
            before = units("UpdateItem")[3]
            extra = {"ExpressionAttributeValues": values} if values else {}
            ddb.update_item(TableName=indexed, Key={"pk": {"S": "i"}}, UpdateExpression=expression, **extra)
            return units("UpdateItem")[3] - before

        self.assertEqual(update("SET note = :v", {":v": {"S": "x"}}), 1.0, "keys-only index untouched")
        self.assertEqual(update("SET g = :v", {":v": {"S": "two"}}), 3.0, "index key moved: delete and put")
        self.assertEqual(update("REMOVE g"), 2.0, "left the index")

        # What each item and each index partition received, which shows a hot one.
        _, body = self.http("GET", f"/_local/requests?app={app}")
        items = {row["item"]: (row["writes"], row["writeUnits"]) for row in body["items"]}  # type: ignore[index]
        self.assertEqual(items["user#1 / a"], (2, 2.0), "the put and the failed update")
        self.assertEqual(items["user#1 / b"], (1, 2.0), "transactional: twice")
        self.assertEqual(items["i"], (4, 4.0), "the indexed item: its put and three updates")
        self.assertEqual(items["g-index / one"], (2, 2.0), "entered, then moved away")
        self.assertEqual(items["g-index / two"], (2, 2.0), "moved in, then left")

        # The IAM permissions those requests needed: a transaction's items' own actions, an index by name.
        ddb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": table, "Key": key_a, "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"S": "z"}}}},
                {"ConditionCheck": {"TableName": indexed, "Key": {"pk": {"S": "i"}},
                                    "ConditionExpression": "attribute_exists(pk)"}},
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "user#2"}, "sk": {"S": "a"}}}},
            ]
        )
        ddb.query(
            TableName=indexed,
            IndexName="g-index",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "one"}},
        )
        _, body = self.http("GET", f"/_local/requests?app={app}")
        permissions = {(p["action"], p["resource"]): p["count"] for p in body["permissions"]}  # type: ignore[index]
        self.assertEqual(permissions[("dynamodb:PutItem", f"table/{table}")], 2 + 2, "two puts, two in a transaction")
        self.assertEqual(permissions[("dynamodb:PutItem", f"table/{indexed}")], 1)
        self.assertEqual(permissions[("dynamodb:UpdateItem", f"table/{table}")], 1 + 1, "the failed one counts too")
        self.assertEqual(permissions[("dynamodb:ConditionCheckItem", f"table/{indexed}")], 1)
        self.assertEqual(permissions[("dynamodb:DeleteItem", f"table/{table}")], 1)
        self.assertEqual(permissions[("dynamodb:Query", f"table/{table}")], 1)
        self.assertEqual(permissions[("dynamodb:Query", f"table/{indexed}/index/g-index")], 1)
        self.assertNotIn(("dynamodb:TransactWriteItems", f"table/{table}"), permissions)

        # A secret by its name, whether named by name or by ARN.
        secrets = self.client("secretsmanager", user_agent_appid=app)
        arn = secrets.create_secret(Name="meter/one", SecretString="s")["ARN"]
        secrets.get_secret_value(SecretId="meter/one")
        secrets.get_secret_value(SecretId=arn)
        _, body = self.http("GET", f"/_local/requests?app={app}")
        permissions = {(p["action"], p["resource"]): p["count"] for p in body["permissions"]}  # type: ignore[index]
        self.assertEqual(permissions[("secretsmanager:CreateSecret", "secret:meter/one")], 1)
        got = [resource for action, resource in permissions if action == "secretsmanager:GetSecretValue"]
        self.assertEqual(len(got), 2, got)
        self.assertIn("secret:meter/one", got)
        self.assertTrue(all(r.startswith("secret:meter/one") for r in got), "an ARN names the secret, with its suffix")

        # An SQS batch needs the single action's permission.
        sqs = self.client("sqs", user_agent_appid=app)
        queue = sqs.create_queue(QueueName="meter-queue")["QueueUrl"]
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "x"}])
        _, body = self.http("GET", f"/_local/requests?app={app}")
        actions = {p["action"] for p in body["permissions"]}  # type: ignore[index]
        self.assertIn("sqs:SendMessage", actions)
        self.assertNotIn("sqs:SendMessageBatch", actions)

        # SNS speaks the query protocol; this app id is only in X-Amz-User-Agent
        publish = b"Action=Publish&Version=2010-03-31&PhoneNumber=%2B15555550142&Message=metered"
        status = self.raw_aws(
            "sns",
            publish,
            {
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "X-Amz-User-Agent": f"aws-sdk-rust/1.0 os/linux lang/rust/1.80 app/{app}",
            },
        )
        self.assertEqual(status, 200)
        publish_row = row("Publish", "sns")
        self.assertGreater(publish_row.pop("seconds"), 0.0, "time moto spent answering")
        self.assertEqual(
            publish_row,
            {
                "service": "sns",
                "action": "Publish",
                "count": 1,
                "statuses": {"200": 1},
                "readUnits": 0.0,
                "writeUnits": 0.0,
            },
        )

        _, body = self.http("GET", f"/_local/requests?app={app}")
        self.assertIn({"action": "sns:Publish", "resource": "*", "count": 1}, body["permissions"])  # type: ignore[index]

        # no app id: recorded under "-", not under the app
        before = self.metered("-").get(("dynamodb", "DescribeTable"), {}).get("count", 0)
        status = self.raw_aws(
            "dynamodb",
            json.dumps({"TableName": table}).encode(),
            {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.DescribeTable"},
        )
        self.assertEqual(status, 200)
        self.assertEqual(self.metered("-")[("dynamodb", "DescribeTable")]["count"], before + 1)
        self.assertNotIn(("dynamodb", "DescribeTable"), self.metered(app))

        # /_local/* and /moto-api/* are not recorded; any other request is
        self.get_json("/_local/sms")
        self.http("GET", "/_local/nope")
        with self.assertRaises(urllib.error.HTTPError):  # moto answers (S3, 404 XML)
            urllib.request.urlopen(self.base + "/not-aws", timeout=30).close()
        anonymous = self.metered("-")
        self.assertIn(("unknown", "GET /not-aws"), anonymous)
        recorded = [action for _, action in anonymous] + [action for _, action in self.metered(app)]
        self.assertEqual([a for a in recorded if "/_local" in a or "/moto-api" in a], [])

        # the route itself
        self.assertEqual(self.metered("nobody"), {})
        status, body = self.http("GET", "/_local/requests")
        self.assertEqual(status, 400, body)
        self.assertIn("error", body)  # type: ignore[operator]
        status, body = self.http("POST", f"/_local/requests?app={app}")
        self.assertEqual(status, 405, body)
        status, body = self.http("GET", "/_local/nope")
        self.assertIn("GET /_local/requests", body["routes"])  # type: ignore[index]

        # moto's reset clears the meter
        status, _ = self.http("POST", "/moto-api/reset")
        self.assertEqual(status, 200)
        self.assertEqual(self.metered(app), {})

    def test_5_quiet_by_default(self) -> None:
        access = [l for l in self.stderr_lines if '"GET /' in l or '"POST /' in l]
        self.assertEqual(access, [], "werkzeug access log should be off without --verbose")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
