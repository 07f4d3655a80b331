"""RFC 5424 messages, octet-counting frames and the checks of the AUDIT_SYSLOG_* settings (training/syslog.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from training.syslog import BOM, SyslogMessage, format_message, octet_counted, syslog_destination

ORIGIN = {"hostname": "app-1.hospital.example", "app_name": "training", "procid": "4242"}


def message(**overrides) -> SyslogMessage:
    values = {
        "facility": 13,
        "severity": 5,
        "timestamp": datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC),
        "msgid": "audit",
        "structured_data": (("audit@32473", (("id", "7"), ("action", "user.signed_in"))),),
        "msg": '{"id": 7}',
    }
    return SyslogMessage(**values | overrides)


def test_the_header_structured_data_and_message_are_in_rfc_5424_order():
    assert format_message(message(), **ORIGIN) == (
        b"<109>1 2026-03-04T05:06:07.000089Z app-1.hospital.example training 4242 audit "
        b'[audit@32473 id="7" action="user.signed_in"] {"id": 7}'
    )


def test_times_are_sent_in_utc():
    chicago = timezone(timedelta(hours=-6))
    formatted = format_message(message(timestamp=datetime(2026, 3, 3, 23, 6, 7, tzinfo=chicago)), **ORIGIN)
    assert b" 2026-03-04T05:06:07.000000Z " in formatted


def test_quotes_backslashes_and_brackets_in_values_are_escaped():
    value = 'Ward "7] \\ east'
    formatted = format_message(message(structured_data=(("audit@32473", (("name", value),)),)), **ORIGIN)
    assert b'[audit@32473 name="Ward \\"7\\] \\\\ east"]' in formatted


def test_header_fields_keep_printable_ascii_only_and_empty_ones_are_nil():
    formatted = format_message(message(msgid="a u\ndit", structured_data=()), hostname="", app_name="tr ai", procid="1")
    assert formatted.startswith(b"<109>1 2026-03-04T05:06:07.000089Z - trai 1 audit - ")


def test_a_message_beyond_ascii_is_utf8_behind_a_byte_order_mark():
    assert format_message(message(msg="Zoë"), **ORIGIN).endswith(b"] " + BOM + "Zoë".encode())
    assert format_message(message(msg="plain"), **ORIGIN).endswith(b"] plain")


def test_frames_count_bytes_not_characters():
    assert octet_counted("Zoë".encode()) == b"4 Zo\xc3\xab"


def test_ports_default_by_scheme():
    assert str(syslog_destination("tcp://siem.example")) == "tcp://siem.example:514"
    assert str(syslog_destination("tls://siem.example")) == "tls://siem.example:6514"
    assert str(syslog_destination("tls://10.1.2.3:7000")) == "tls://10.1.2.3:7000"


@pytest.mark.parametrize(
    ("url", "options", "error"),
    [
        ("udp://siem.example:514", {}, "must start with tcp:// or tls://"),
        ("siem.example:514", {}, "must start with tcp:// or tls://"),
        ("tcp://", {}, r"must be tcp://HOST\[:PORT\]"),
        ("tls://siem.example:6514/audit", {}, r"must be tcp://HOST\[:PORT\]"),
        ("tls://user:pw@siem.example", {}, r"must be tcp://HOST\[:PORT\]"),
        ("tcp://siem.example:99999", {}, "port that is not a number from 1 to 65535"),
        ("tls://siem.example", {"ca_file": "/no/such/ca.pem"}, "AUDIT_SYSLOG_CA_FILE is not a readable file"),
        ("tcp://siem.example", {"ca_file": __file__}, "only apply to a tls://"),
        ("tls://siem.example", {"ca_file": __file__}, "could not be loaded"),
        ("tls://siem.example", {"client_key": __file__}, "CLIENT_KEY is set without AUDIT_SYSLOG_CLIENT_CERT"),
        ("tcp://siem.example", {"timeout": 0}, "AUDIT_SYSLOG_TIMEOUT must be more than 0"),
    ],
)
def test_wrong_settings_are_refused_naming_the_setting(url, options, error):
    with pytest.raises(ValueError, match=error):
        syslog_destination(url, **options)
