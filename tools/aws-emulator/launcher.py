#!/usr/bin/env python3
"""Serialized moto launcher for the lightotp local stack.

Runs moto's WSGI app on ONE thread in ONE process (werkzeug ``run_simple`` with
``threaded=False, processes=1``), so requests are handled strictly one at a time.
Stock ``moto_server`` is threaded, and its DynamoDB backend is not safe under
concurrent requests: it loses updates, half-applies transactions (racing conditional
debits overdraw a balance; a cancelled transaction keeps a Put) and can fail with
"dictionary changed size during iteration". One request at a time keeps it exact.

Beside moto's own routes, on the same port, it serves what AWS "sent"
(``docs/local-stack.md``, section "What AWS sent"):

    GET  /_local/sms           every SMS published through SNS Publish(PhoneNumber=...)
                               [{"phoneNumber","message","senderId","smsType","sentAt", ...}]
    GET  /_local/emails        every email sent through SES v1 / SESv2 SendEmail
                               (Simple, Raw and v1 SendTemplatedEmail)
                               [{"from","to","subject","body","sentAt", ...}]
    POST /_local/reset-outbox  clears both lists -> {"cleared": {"sms": n, "emails": m}}
    POST /_local/sms/fail-next?phoneNumber=+E164
                               the next SNS Publish to that number fails (InvalidParameterValue), once
    GET  /_local/requests?app=<id>
                               the AWS requests moto answered for one application id, per action
                               {"app", "requests": [{"service","action","count","statuses",
                                                     "readUnits","writeUnits","seconds"}]}
                               (``seconds``: time moto spent answering them), "items" (write
                               units per item) and "permissions": [{"action","resource","count"}],
                               the IAM permissions those requests needed (see ``iam_permissions``)
    GET  /_local/health        {"ok": true, "pid": <this process>}: how the stack knows the
                               server on its port is the one it started

Both lists are oldest first, across all accounts and regions. ``POST /moto-api/reset``
(moto's own "wipe all state") clears them and the request meter too. ``sentAt`` is
RFC 3339 UTC with milliseconds, e.g. ``2026-11-23T00:36:12.345Z``.

The request meter counts every request handed to moto (not ``/_local/*``, not
``/moto-api/*``), keyed by the AWS SDK's application id: the ``app/<id>`` token the SDK
puts in ``X-Amz-User-Agent`` / ``User-Agent`` when run with ``AWS_SDK_UA_APP_ID=<id>``;
``-`` when there is none. For DynamoDB it adds the read and write units on-demand
billing would charge (see ``DynamoCost``).

Usage:
    python launcher.py [--host 127.0.0.1] [--port N] [--verbose]

The port defaults to $LIGHTOTP_AWS_PORT, else 4566. MOTO_PORT is set to the port
before moto is imported. Stops on SIGINT or SIGTERM with exit code 0.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import functools
import io
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from base64 import b64decode
from datetime import datetime, timezone
from email.utils import getaddresses
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566

log = logging.getLogger("lightotp.aws-emulator")


# --------------------------------------------------------------------------- outbox


def now_rfc3339() -> str:
    """Current UTC time as RFC 3339 with milliseconds and a ``Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class DynamoFaults:
    """Throttles injected into DynamoDB requests: the next ``count`` requests of one operation on
    one partition key answer ``ProvisionedThroughputExceededException`` (400), as DynamoDB does
    when it throttles. Scoped to a partition key so that nothing else sharing the emulator (the
    local stack's background loops) meets them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], int] = {}

    def throttle_next(self, operation: str, pk: str, count: int) -> dict[str, Any]:
        with self._lock:
            self._pending[(operation, pk)] = count
            return {"operation": operation, "pk": pk, "count": count}

    def take(self, operation: str, request: dict[str, Any]) -> bool:
        """Whether this request is to be throttled (and counts it)."""
        pk = ((request.get("Key") or {}).get("pk") or {}).get("S")
        if pk is None:
            return False
        with self._lock:
            left = self._pending.get((operation, pk), 0)
            if left <= 0:
                return False
            self._pending[(operation, pk)] = left - 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()


DYNAMO_FAULTS = DynamoFaults()


class Outbox:
    """What the emulated AWS "sent", in order, across all accounts and regions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sms: list[dict[str, Any]] = []
        self._emails: list[dict[str, Any]] = []
        self._failing_numbers: set[str] = set()

    def fail_next_sms(self, phone_number: str) -> dict[str, Any]:
        with self._lock:
            self._failing_numbers.add(phone_number)
            return {"failNext": sorted(self._failing_numbers)}

    def take_sms_failure(self, phone_number: str) -> bool:
        with self._lock:
            if phone_number in self._failing_numbers:
                self._failing_numbers.discard(phone_number)
                return True
            return False

    def add_sms(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._sms.append(record)

    def add_email(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._emails.append(record)

    def sms(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._sms)

    def emails(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._emails)

    def reset(self) -> dict[str, int]:
        with self._lock:
            cleared = {"sms": len(self._sms), "emails": len(self._emails)}
            self._sms.clear()
            self._emails.clear()
            return cleared


OUTBOX = Outbox()


def _attribute_value(attributes: Any, name: str) -> str | None:
    """Value of an SNS message attribute as moto 5.2.5 hands it to the backend.

    moto's SNS responses transform ``{"DataType","StringValue"}`` into
    ``{"Type","Value"}`` before calling ``SNSBackend.publish``; accept both shapes.
    """
    if not isinstance(attributes, dict):
        return None
    attr = attributes.get(name)
    if not isinstance(attr, dict):
        return None
    for key in ("Value", "StringValue"):
        value = attr.get(key)
        if value is not None:
            return str(value)
    return None


def _recipients(destinations: Any) -> tuple[list[str], list[str], list[str]]:
    if not isinstance(destinations, dict):
        return [], [], []
    return (
        list(destinations.get("ToAddresses") or []),
        list(destinations.get("CcAddresses") or []),
        list(destinations.get("BccAddresses") or []),
    )


def _raw_email_record(source: Any, destinations: Any, raw_data: str) -> dict[str, Any]:
    msg = email.message_from_string(raw_data, policy=email.policy.default)

    def addresses(header: str) -> list[str]:
        values = [str(v) for v in (msg.get_all(header) or [])]
        return [addr for _, addr in getaddresses(values) if addr]

    to = addresses("To")
    cc = addresses("Cc")
    bcc = addresses("Bcc")
    if not to and not cc and not bcc:
        to = [addr for _, addr in getaddresses([str(d) for d in (destinations or [])]) if addr]

    from_ = source
    if not from_:
        header_from = addresses("From")
        from_ = header_from[0] if header_from else None

    body: str | None = None
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is not None:
            body = part.get_content()
    except Exception:  # malformed MIME: fall back to the raw text
        body = None
    if body is None:
        body = raw_data

    subject = msg.get("Subject")
    return {
        "from": from_,
        "to": to,
        "cc": cc,
        "bcc": bcc,
        "subject": str(subject) if subject is not None else None,
        "body": body,
        "kind": "raw",
    }


# --------------------------------------------------------------------------- moto patches


def install_item_level_rollback() -> None:
    """Make moto's ``TransactWriteItems`` back up the items it touches instead of whole tables.

    moto applies a transaction's operations one by one and, if one fails, restores every table
    involved from a ``copy.deepcopy`` taken first: O(items in the table) per transaction, which
    measured 200 ms a transaction once the local table held a few thousand items, and made the
    stack's throughput a function of how long it had run. With requests serialized, the items the
    transaction names are the only ones it can change, so backing those up (and putting them back
    on failure) is the same all-or-nothing behaviour at O(items in the transaction).

    moto's own whole-table backup is turned into a no-op by giving its module a ``copy`` whose
    ``deepcopy`` returns a ``Table`` as is (every other deepcopy is the real one).
    """
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class TablesAreNotCopied:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = TablesAreNotCopied  # type: ignore[attr-defined]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, DynamoType, DynamoType | None, Any]] = []
        for entry in transact_items:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            before = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(before)))
        # A table's stream records each operation as moto applies it: a cancelled transaction must take its
        # records back too, or the stream would show changes that never happened.
        streams = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in saved if t.stream_shard is not None}
        try:
            original(self, transact_items)
        except Exception:
            for shard, length in streams.values():
                del shard.items[length:]
            for table, hash_value, range_value, before in reversed(saved):
                if range_value is None:
                    if before is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = before
                elif before is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def install_stream_trimming() -> None:
    """Forget the stream records a reader has moved past, as DynamoDB Streams forgets them after 24 hours.

    moto keeps every stream record of a table for ever, in memory; the local stack reads the stream every few
    seconds. When a reader asks for an iterator ``AFTER_SEQUENCE_NUMBER`` n (its checkpoint), the records up to n
    are gone for it, so they are dropped: a reader that did not move its checkpoint (a delivery function that died)
    still reads everything after it. There is one reader, the local gateway.
    """
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original = DynamoDBStreamsBackend.get_shard_iterator

    def get_shard_iterator(
        self: Any, arn: str, shard_id: str, shard_iterator_type: str, sequence_number: str | None = None
    ) -> Any:
        # The reader's earlier iterators are done with: moto would keep every one for ever.
        self.shard_iterators.clear()
        if shard_iterator_type == "AFTER_SEQUENCE_NUMBER" and sequence_number is not None:
            shard = self._get_table_from_arn(arn).stream_shard
            # Only a checkpoint inside this shard's records trims (a reader of a table made again starts over).
            if shard is not None and 0 <= int(sequence_number) - shard.starting_sequence_number < len(shard.items):
                passed = int(sequence_number) + 1 - shard.starting_sequence_number
                del shard.items[:passed]
                shard.starting_sequence_number += passed
        return original(self, arn, shard_id, shard_iterator_type, sequence_number)

    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]


def install_recorders() -> None:
    """Wrap moto's SNS and SES backends so sends are recorded in ``OUTBOX``.

    * ``moto.sns.models.SNSBackend.publish(message, arn, phone_number=None, subject=None,
      message_attributes=None, group_id=None, deduplication_id=None,
      message_structure=None) -> message_id`` keeps only (number, message) for an SMS;
      the wrapper records the sender ID and SMS type too.
    * ``moto.ses.models.SESBackend.send_email / send_raw_email / send_templated_email``:
      SESv2 ``SendEmail`` (Simple and Raw) delegates to the same SES v1 backend methods,
      so wrapping them covers both APIs.
    Each wrapper records only after the original call succeeded (a rejected send, e.g.
    an unverified sender, is not "sent").
    """
    from moto.ses.models import SESBackend
    from moto.sns.models import SNSBackend

    if getattr(SNSBackend.publish, "_lightotp_wrapped", False):
        return

    original_publish = SNSBackend.publish

    @functools.wraps(original_publish)
    def publish(self: Any, message: str, *args: Any, **kwargs: Any) -> Any:
        phone_number = kwargs.get("phone_number")
        if phone_number is None and len(args) >= 2:
            phone_number = args[1]  # positional: (message, arn, phone_number, ...)
        if phone_number and OUTBOX.take_sms_failure(phone_number):
            from moto.sns.exceptions import InvalidParameterValue

            raise InvalidParameterValue("Injected failure (POST /_local/sms/fail-next)")
        message_id = original_publish(self, message, *args, **kwargs)
        if phone_number:
            attributes = kwargs.get("message_attributes")
            if attributes is None and len(args) >= 4:
                attributes = args[3]
            OUTBOX.add_sms(
                {
                    "phoneNumber": phone_number,
                    "message": message,
                    "senderId": _attribute_value(attributes, "AWS.SNS.SMS.SenderID"),
                    "smsType": _attribute_value(attributes, "AWS.SNS.SMS.SMSType"),
                    "sentAt": now_rfc3339(),
                    "messageId": message_id,
                    "accountId": getattr(self, "account_id", None),
                    "region": getattr(self, "region_name", None),
                }
            )
        return message_id

    publish._lightotp_wrapped = True  # type: ignore[attr-defined]
    SNSBackend.publish = publish  # type: ignore[method-assign]

    def record_email(backend: Any, message: Any, record: dict[str, Any]) -> None:
        record["sentAt"] = now_rfc3339()
        record["messageId"] = getattr(message, "id", None)
        record["accountId"] = getattr(backend, "account_id", None)
        record["region"] = getattr(backend, "region_name", None)
        OUTBOX.add_email(record)

    original_send_email = SESBackend.send_email

    @functools.wraps(original_send_email)
    def send_email(self: Any, *args: Any, **kwargs: Any) -> Any:
        message = original_send_email(self, *args, **kwargs)
        to, cc, bcc = _recipients(getattr(message, "destinations", None))
        record_email(
            self,
            message,
            {
                "from": getattr(message, "source", None),
                "to": to,
                "cc": cc,
                "bcc": bcc,
                "subject": getattr(message, "subject", None),
                # moto keeps one body: the HTML part when given, else the text part
                "body": getattr(message, "body", None),
                "kind": "simple",
            },
        )
        return message

    SESBackend.send_email = send_email  # type: ignore[method-assign]

    original_send_raw_email = SESBackend.send_raw_email

    @functools.wraps(original_send_raw_email)
    def send_raw_email(self: Any, *args: Any, **kwargs: Any) -> Any:
        message = original_send_raw_email(self, *args, **kwargs)
        try:
            record = _raw_email_record(
                getattr(message, "source", None),
                getattr(message, "destinations", None),
                getattr(message, "raw_data", "") or "",
            )
        except Exception as exc:  # never fail a send because of the recorder
            log.warning("could not parse raw email: %s", exc)
            record = {
                "from": getattr(message, "source", None),
                "to": list(getattr(message, "destinations", None) or []),
                "subject": None,
                "body": getattr(message, "raw_data", None),
                "kind": "raw",
            }
        record_email(self, message, record)
        return message

    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]

    original_send_templated_email = SESBackend.send_templated_email

    @functools.wraps(original_send_templated_email)
    def send_templated_email(self: Any, *args: Any, **kwargs: Any) -> Any:
        message = original_send_templated_email(self, *args, **kwargs)
        subject = body = None
        template_name = getattr(message, "template", None)
        try:
            from moto.ses.template import parse_template

            template = self.templates.get(template_name) or {}
            data = json.loads(getattr(message, "template_data", None) or "{}")
            subject = parse_template(str(template.get("subject_part") or ""), data)
            text = template.get("text_part")
            html = template.get("html_part")
            body = parse_template(str(html if html and not text else text or ""), data)
        except Exception as exc:
            log.warning("could not render template %r: %s", template_name, exc)
        to, cc, bcc = _recipients(getattr(message, "destinations", None))
        record_email(
            self,
            message,
            {
                "from": getattr(message, "source", None),
                "to": to,
                "cc": cc,
                "bcc": bcc,
                "subject": subject,
                "body": body,
                "kind": "templated",
                "template": template_name,
                "templateData": getattr(message, "template_data", None),
            },
        )
        return message

    SESBackend.send_templated_email = send_templated_email  # type: ignore[method-assign]


# --------------------------------------------------------------------------- request meter


class RequestMeter:
    """Requests moto answered, per (application id, service, action), across all accounts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._items: dict[tuple[str, str], dict[str, Any]] = {}
        self._permissions: dict[tuple[str, str, str], int] = {}

    def permit(self, app: str, permissions: list[tuple[str, str]]) -> None:
        """Counts the IAM permissions (action, resource) one request of ``app`` needed."""
        with self._lock:
            for action, resource in permissions:
                self._permissions[(app, action, resource)] = self._permissions.get((app, action, resource), 0) + 1

    def permissions(self, app: str) -> list[dict[str, Any]]:
        """The IAM permissions the requests of one application id needed, sorted; copies."""
        with self._lock:
            rows = [
                {"action": action, "resource": resource, "count": count}
                for (a, action, resource), count in self._permissions.items()
                if a == app
            ]
        return sorted(rows, key=lambda r: (r["action"], r["resource"]))

    def record(
        self,
        app: str,
        service: str,
        action: str,
        status: int,
        read: float,
        write: float,
        seconds: float = 0.0,
        items: list[tuple[str, float]] | None = None,
    ) -> None:
        with self._lock:
            for item, units in items or []:
                row = self._items.setdefault((app, item), {"item": item, "writes": 0, "writeUnits": 0.0})
                row["writes"] += 1
                row["writeUnits"] += units
            row = self._rows.setdefault(
                (app, service, action),
                {
                    "service": service,
                    "action": action,
                    "count": 0,
                    "statuses": {},
                    "readUnits": 0.0,
                    "writeUnits": 0.0,
                    "seconds": 0.0,
                },
            )
            row["count"] += 1
            row["statuses"][str(status)] = row["statuses"].get(str(status), 0) + 1
            row["readUnits"] += read
            row["writeUnits"] += write
            row["seconds"] += seconds

    def requests(self, app: str) -> list[dict[str, Any]]:
        """The rows of one application id, sorted by (service, action); copies."""
        with self._lock:
            rows = [row for (a, _, _), row in self._rows.items() if a == app]
            rows.sort(key=lambda r: (r["service"], r["action"]))
            return [dict(row, statuses=dict(row["statuses"])) for row in rows]

    def items(self, app: str) -> list[dict[str, Any]]:
        """The write units each item (``"<pk> / <sk>"``) or index partition (``"<index> / <hash key>"``) received
        from one application id, sorted by item; copies."""
        with self._lock:
            rows = [dict(row) for (a, _), row in self._items.items() if a == app]
            return sorted(rows, key=lambda r: r["item"])

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
            self._items.clear()
            self._permissions.clear()


# A transaction has no IAM action of its own: IAM checks each of its items' actions.
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


# SQS's batch actions have no permission of their own: the single action's covers them.
SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}

# DynamoDB Streams signs as "dynamodb": its actions are on the table's stream.
STREAM_ACTIONS = {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}


def iam_permissions(service: str, action: str, request: dict[str, Any]) -> list[tuple[str, str]]:
    """The IAM permissions (action, resource) a request needs, as a function's policy must allow them. DynamoDB's
    resource is ``table/<name>``, or ``table/<name>/index/<index>`` for a Query or Scan of an index; a transaction
    needs its items' own actions, a TransactGetItems ``GetItem``; a stream's actions are on ``stream``. A Secrets
    Manager request is on ``secret:<name>`` (its ``SecretId``, or ``Name`` when it creates one). An SQS batch
    action needs its single action's permission. Other services: the action on ``*`` (their resources are not told
    apart here)."""
    if service == "secretsmanager":
        secret = request.get("SecretId") or request.get("Name")
        if isinstance(secret, str):
            return [(f"secretsmanager:{action}", f"secret:{secret.rpartition(':secret:')[2]}")]
        return [(f"secretsmanager:{action}", "*")]
    if service == "sqs" and action in SQS_BATCH_ACTIONS:
        return [(f"sqs:{SQS_BATCH_ACTIONS[action]}", "*")]
    if service != "dynamodb":
        return [(f"{service}:{action}", "*")]
    if action in STREAM_ACTIONS:
        return [(f"dynamodb:{action}", "stream")]

    def table(name: Any) -> str:
        return f"table/{name}"

    if action == "TransactWriteItems":
        needed = []
        for item in request.get("TransactItems") or []:
            for kind, iam_action in TRANSACT_ITEM_ACTIONS.items():
                if kind in item:
                    needed.append((f"dynamodb:{iam_action}", table(item[kind].get("TableName"))))
        return needed
    if action == "TransactGetItems":
        items = request.get("TransactItems") or []
        return [("dynamodb:GetItem", table(item.get("Get", {}).get("TableName"))) for item in items]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{action}", table(name)) for name in request.get("RequestItems") or {}]
    name = request.get("TableName")
    if name is None:
        return [(f"dynamodb:{action}", "*")]
    if action in ("Query", "Scan") and request.get("IndexName"):
        return [(f"dynamodb:{action}", f"{table(name)}/index/{request['IndexName']}")]
    return [(f"dynamodb:{action}", table(name))]


METER = RequestMeter()

APP_ID = re.compile(r"(?:^|\s)app/(\S+)")
# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, ..."
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/\s,]+)/\d{8}/([^/\s,]+)/([^/\s,]+)/aws4_request")


def read_body(environ: dict) -> bytes:
    """The whole request body; moto gets a fresh ``io.BytesIO`` of the same bytes."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = environ["wsgi.input"].read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream for us
        body = environ["wsgi.input"].read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def request_action(environ: dict, body: bytes) -> str:
    """The AWS action of a request: ``X-Amz-Target``, else the query protocol's ``Action``,
    else SESv2 ``SendEmail``, else ``"<METHOD> <path>"``."""
    method = (environ.get("REQUEST_METHOD") or "GET").upper()
    path = environ.get("PATH_INFO") or "/"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rpartition(".")[2]
    form = parse_qs(environ.get("QUERY_STRING") or "")
    if "x-www-form-urlencoded" in (environ.get("CONTENT_TYPE") or ""):
        form = parse_qs(body.decode("utf-8", "replace")) or form
    if form.get("Action"):
        return form["Action"][0]
    if method == "POST" and path.rstrip("/") == "/v2/email/outbound-emails":
        return "SendEmail"
    return f"{method} {path}"


def moto_account_id(environ: dict, access_key: str) -> str:
    """The account moto files the request under (``BaseResponse.get_current_account``)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key or "AKIAEXAMPLE")


def dynamo_value_size(value: dict[str, Any]) -> int:
    """Size of one DynamoDB JSON value (``{"S": "x"}``) by moto's rule (``DynamoType.size``)."""
    ((kind, v),) = value.items()
    if kind in ("SS", "NS", "BS"):
        return sum(dynamo_value_size({kind[0]: member}) for member in v)
    if kind == "L":
        return sum(dynamo_value_size(member) for member in v)
    if kind == "M":
        return dynamo_item_size(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "N":
        return len(str(v))
    if kind == "B":
        return len(b64decode(v))
    return len(str(v).encode("utf-8"))  # S


def dynamo_item_size(item: dict[str, Any]) -> int:
    """Size of a DynamoDB JSON item or map: attribute-name UTF-8 bytes plus value sizes."""
    return sum(len(name.encode("utf-8")) + dynamo_value_size(value) for name, value in item.items())


def read_units(size: int, consistent: Any, transactional: bool = False) -> float:
    """On-demand read units for ``size`` bytes: 4 KB each (min 1), half when eventually
    consistent, twice in a transaction."""
    units = max(1, math.ceil(size / 4096))
    if transactional:
        return 2.0 * units
    return float(units) if consistent is True else units / 2


def item_name(key: dict[str, Any]) -> str:
    """An item's key as the meter names it: ``"<pk> / <sk>"`` (string keys as they are)."""
    values = [next(iter(v.values())) for _, v in sorted(key.items()) if _ in ("pk", "sk")]
    return " / ".join(str(v) for v in values) or json.dumps(key, sort_keys=True)


class DynamoCost:
    """Read and write units of one DynamoDB request, by on-demand billing rules.

    Made before moto handles the request (item sizes "before"), then ``units(status,
    response)`` after it (sizes "after", and the ``Items`` of a Query or Scan). Sizes are
    moto's ``Item.size()``, the full item (a projection does not make a read cheaper).
    Writes (1 KB each, min 1) are charged whatever the answer: a failed condition still
    costs the write; an item entering, leaving or moving in a global secondary index adds
    that index's writes. Reads are charged only on a 2xx answer.
    """

    def __init__(self, environ: dict, action: str, request: dict[str, Any], access_key: str, region: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        self.backend = dynamodb_backends[moto_account_id(environ, access_key)][region]
        self.action = action
        self.request = request
        self.writes = self._writes()
        self.before = [self._written(table, key) for table, key, _ in self.writes]

    def _writes(self) -> list[tuple[str, dict[str, Any], int]]:
        """(table, key or whole item, unit multiplier) of each item the request writes."""
        r = self.request
        if self.action == "PutItem":
            return [(r["TableName"], r["Item"], 1)]
        if self.action in ("UpdateItem", "DeleteItem"):
            return [(r["TableName"], r["Key"], 1)]
        if self.action == "TransactWriteItems":
            # Put / Update / Delete / ConditionCheck all cost 2 write units per KB. A
            # canceled transaction is charged the same as a successful one: an upper
            # bound (AWS charges canceled transactions, but the exact amount is not
            # documented per element).
            writes = []
            for element in r["TransactItems"]:
                ((_, op),) = element.items()
                writes.append((op["TableName"], op.get("Key") or op["Item"], 2))
            return writes
        return []

    def _size(self, table: str, key: dict[str, Any]) -> int:
        """moto's size of the stored item with that key (a whole item works too), 0 if absent."""
        try:
            item = self.backend.get_item(table, key)
        except Exception:  # no such table, bad key: nothing stored
            return 0
        return item.size() if item is not None else 0

    def _written(self, table_name: str, key: dict[str, Any]) -> tuple[int, list[tuple | None]]:
        """What a write is charged on, read with one lookup: the stored item's size (0 if absent) and its index
        entries. Computed at once, because moto updates items in place."""
        try:
            table = self.backend.get_table(table_name)
            item = self.backend.get_item(table_name, key)
        except Exception:  # no such table, bad key: nothing stored
            return 0, []
        return (item.size() if item is not None else 0), self._index_entries(table, item)

    @staticmethod
    def _index_entries(table: Any, item: Any) -> list[tuple | None]:
        """Per global secondary index of the table, the item's entry in it: its key values (and, unless the index
        projects keys only, the whole item), or None when the item is not in the index."""
        entries: list[tuple | None] = []
        for index in table.global_indexes:
            values = [item.attrs.get(name) for name in index.schema_key_attrs] if item is not None else [None]
            if any(value is None for value in values):
                entries.append(None)
                continue
            keys = tuple(json.dumps(value.to_json(), sort_keys=True) for value in values)
            keys_only = (index.projection or {}).get("ProjectionType") == "KEYS_ONLY"
            entries.append((keys, None if keys_only else json.dumps(item.to_json(), sort_keys=True, default=str)))
        return entries

    @staticmethod
    def index_write_units(before: list[tuple | None], after: list[tuple | None]) -> int:
        """Index writes, one unit each (index entries here are far below 1 KB): an entry added or removed is one
        write, an entry whose index key changed is two (delete, then put), one whose projected attributes changed
        is one."""
        units = 0
        for old, new in zip(before, after):
            if old == new:
                continue
            if old is None or new is None:
                units += 1
            else:
                units += 2 if old[0] != new[0] else 1
        return units

    def units(self, status: int, response: bytes) -> tuple[float, float]:
        """(read units, write units) once moto answered ``status`` with ``response``. Writes include the global
        secondary indexes' writes (not doubled inside a transaction)."""
        read, write, _ = self.units_by_item(status, response)
        return read, write

    def units_by_item(self, status: int, response: bytes) -> tuple[float, float, list[tuple[str, float]]]:
        """As ``units``, with the write units each item received (``"<pk> / <sk>"``) and each index partition
        (``"<index> / <hash key>"``): what shows a hot item."""
        write = 0
        items: list[tuple[str, float]] = []
        for (table, key, multiplier), (size_before, indexed_before) in zip(self.writes, self.before):
            size_after, indexed_after = self._written(table, key)
            units = multiplier * max(1, math.ceil(max(size_before, size_after) / 1024))
            write += units
            items.append((item_name(key), float(units)))
            for partition, index_units in self.index_partition_writes(table, indexed_before, indexed_after):
                write += index_units
                items.append((partition, float(index_units)))
        return (self._reads(response) if 200 <= status < 300 else 0.0), float(write), items

    def index_partition_writes(
        self, table_name: str, before: list[tuple | None], after: list[tuple | None]
    ) -> list[tuple[str, int]]:
        """The index writes of one item's change, per index partition (``"<index> / <hash key value>"``)."""
        try:
            indexes = self.backend.get_table(table_name).global_indexes
        except Exception:
            return []
        def partition(index: Any, entry: tuple) -> str:
            ((_, value),) = json.loads(entry[0][0]).items()
            return f"{index.name} / {value}"

        writes = []
        for index, old, new in zip(indexes, before, after):
            if old == new:
                continue
            if old is not None and new is not None and old[0] != new[0]:
                writes += [(partition(index, old), 1), (partition(index, new), 1)]  # deleted there, put here
            else:
                writes.append((partition(index, new if new is not None else old), 1))
        return writes

    def _reads(self, response: bytes) -> float:
        r, action = self.request, self.action
        if action == "GetItem":
            return read_units(self._size(r["TableName"], r["Key"]), r.get("ConsistentRead"))
        if action == "BatchGetItem":
            return sum(
                read_units(self._size(table, key), spec.get("ConsistentRead"))
                for table, spec in r["RequestItems"].items()
                for key in spec["Keys"]
            )
        if action == "TransactGetItems":
            return sum(
                read_units(self._size(e["Get"]["TableName"], e["Get"]["Key"]), True, transactional=True)
                for e in r["TransactItems"]
            )
        if action in ("Query", "Scan"):
            items = json.loads(response or b"{}").get("Items") or []
            return read_units(sum(dynamo_item_size(item) for item in items), r.get("ConsistentRead"))
        return 0.0


# --------------------------------------------------------------------------- WSGI


WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class BadRequest(Exception):
    """A ``/_local`` request its route cannot answer: 400 with this message."""


class LocalRoutes:
    """WSGI middleware: serves ``/_local/*`` itself and hands everything else to moto,
    metering what it hands over (``RequestMeter``)."""

    def __init__(self, app: WSGIApp, outbox: Outbox = OUTBOX, meter: RequestMeter = METER) -> None:
        self.app = app
        self.outbox = outbox
        self.meter = meter

    @staticmethod
    def _json(start_response: Callable, status: str, payload: Any, extra: list | None = None) -> list[bytes]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        start_response(status, headers + (extra or []))
        return [body]

    def _requests(self, environ: dict) -> dict[str, Any]:
        apps = parse_qs(environ.get("QUERY_STRING") or "").get("app", [])
        if len(apps) != 1:
            raise BadRequest("give one app=<id> (the AWS_SDK_UA_APP_ID; - for requests without one)")
        return {
            "app": apps[0],
            "requests": self.meter.requests(apps[0]),
            "items": self.meter.items(apps[0]),
            "permissions": self.meter.permissions(apps[0]),
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = (environ.get("REQUEST_METHOD") or "GET").upper()
        route = path.rstrip("/") or "/"

        if route == "/_local/dynamodb/throttle-next" and method == "POST":
            query = parse_qs(environ.get("QUERY_STRING") or "")
            operation, pk, count = query.get("operation", []), query.get("pk", []), query.get("count", ["1"])
            if len(operation) != 1 or len(pk) != 1 or not count[0].isdigit():
                return self._json(
                    start_response, "400 Bad Request", {"error": "give operation=<Action>&pk=<partition key>[&count=n]"}
                )
            return self._json(start_response, "200 OK", DYNAMO_FAULTS.throttle_next(operation[0], pk[0], int(count[0])))

        if route == "/_local/sms/fail-next" and method == "POST":
            numbers = parse_qs(environ.get("QUERY_STRING") or "").get("phoneNumber", [])
            if len(numbers) != 1:
                return self._json(start_response, "400 Bad Request", {"error": "give one phoneNumber=+E164"})
            return self._json(start_response, "200 OK", self.outbox.fail_next_sms(numbers[0]))

        if route.startswith("/_local/") or route == "/_local":
            routes = {
                "/_local/sms": ("GET", lambda: self.outbox.sms()),
                "/_local/emails": ("GET", lambda: self.outbox.emails()),
                "/_local/reset-outbox": ("POST", lambda: {"cleared": self.outbox.reset()}),
                "/_local/requests": ("GET", lambda: self._requests(environ)),
                "/_local/health": ("GET", lambda: {"ok": True, "pid": os.getpid()}),
            }
            if route not in routes:
                return self._json(
                    start_response,
                    "404 Not Found",
                    {"error": "not found", "routes": [f"{m} {p}" for p, (m, _) in routes.items()]},
                )
            allowed, handler = routes[route]
            if method != allowed and not (method == "HEAD" and allowed == "GET"):
                return self._json(
                    start_response,
                    "405 Method Not Allowed",
                    {"error": f"use {allowed} {route}"},
                    [("Allow", allowed)],
                )
            try:
                payload = handler()
            except BadRequest as exc:
                return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            result = self._json(start_response, "200 OK", payload)
            return [b""] if method == "HEAD" else result

        if route.startswith("/moto-api/") or route == "/moto-api":
            if route == "/moto-api/reset" and method == "POST":
                # moto's "wipe all state": the outbox and the meter are part of that state.
                self.outbox.reset()
                self.meter.reset()
                DYNAMO_FAULTS.reset()
            return self.app(environ, start_response)

        return self._metered(environ, start_response)

    def _metered(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Hand the request to moto and record it in the meter. The meter never fails a
        request: if its own work raises, the request is still answered (and recorded with
        0 units when possible)."""
        statuses: list[str] = []

        def start(status: str, headers: list, *exc_info: Any) -> Any:
            statuses.append(status)
            return start_response(status, headers, *exc_info)

        app_id, service, cost, throttled = "-", "unknown", None, False
        action = f"{environ.get('REQUEST_METHOD') or 'GET'} {environ.get('PATH_INFO') or '/'}"
        try:
            agents = f"{environ.get('HTTP_X_AMZ_USER_AGENT') or ''} {environ.get('HTTP_USER_AGENT') or ''}"
            if match := APP_ID.search(agents):
                app_id = match.group(1)
            scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION") or "")
            access_key, region, service = scope.groups() if scope else ("", "us-east-1", "unknown")
            form = "x-www-form-urlencoded" in (environ.get("CONTENT_TYPE") or "")
            body = read_body(environ) if service in ("dynamodb", "secretsmanager") or form else b""
            action = request_action(environ, body)
            json_request = json.loads(body or b"{}") if service in ("dynamodb", "secretsmanager") else {}
            if service == "dynamodb":
                if DYNAMO_FAULTS.take(action, json_request):
                    throttled = True
                cost = DynamoCost(environ, action, json_request, access_key, region)
            self.meter.permit(app_id, iam_permissions(service, action, json_request))
        except Exception as exc:
            log.warning("request meter: %s: %r", action, exc)

        if throttled:
            log.info("injected throttle: %s", action)
            body = json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    "message": "Injected throttle (POST /_local/dynamodb/throttle-next)",
                }
            ).encode("utf-8")
            start(
                "400 Bad Request",
                [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
            )
            self.meter.record(app_id, service, action, 400, 0.0, 0.0, 0.0)
            return [body]

        began = time.perf_counter()
        result = self.app(environ, start)
        answer = b""
        if cost is not None:  # DynamoDB answers are small JSON: read it for Query / Scan
            try:
                answer = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            result = [answer]

        try:
            status = int(statuses[-1].split()[0]) if statuses else 0
            read = write = 0.0
            items: list[tuple[str, float]] = []
            if cost is not None:
                try:
                    read, write, items = cost.units_by_item(status, answer)
                except Exception as exc:
                    log.warning("request meter: %s units: %r", action, exc)
            seconds = time.perf_counter() - began
            self.meter.record(app_id, service, action, status, read, write, seconds, items)
        except Exception as exc:
            log.warning("request meter: %s: %r", action, exc)
        return result


def build_app() -> WSGIApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    install_recorders()
    install_item_level_rollback()
    install_stream_trimming()
    return LocalRoutes(DomainDispatcherApplication(create_backend_app))


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env_port = os.environ.get("LIGHTOTP_AWS_PORT")
    try:
        default_port = int(env_port) if env_port else DEFAULT_PORT
    except ValueError:
        sys.exit(f"launcher: LIGHTOTP_AWS_PORT is not a port number: {env_port!r}")

    parser = argparse.ArgumentParser(
        description="moto (AWS emulator), serialized: one request at a time, plus /_local/sms and /_local/emails."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"port to bind (default $LIGHTOTP_AWS_PORT, else {DEFAULT_PORT})",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request (werkzeug access log)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="aws-emulator: %(message)s",
    )
    # werkzeug logs one access line per request at INFO: only with --verbose.
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.ERROR)

    # moto reads MOTO_PORT (e.g. for URLs it hands out); set it before importing moto.
    os.environ["MOTO_PORT"] = str(args.port)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    app = build_app()

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # run_simple closes the socket and returns

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(
        f"aws-emulator: starting moto (serialized) on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        run_simple(
            args.host,
            args.port,
            app,
            threaded=False,
            processes=1,
            use_reloader=False,
            use_debugger=False,
            request_handler=MotoRequestHandler,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # werkzeug itself reports "address in use" and exits 1
        print(f"aws-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
