"""`flask audit forward`: send audit events from the database to the SIEM again, after an outage."""

import click
from flask import current_app
from flask.cli import AppGroup

from training.audit.forwarding import ForwardingFailed, forward_again

audit_cli = AppGroup("audit", help="The audit record.")


@audit_cli.command("forward")
@click.option("--since", "since_id", type=click.IntRange(min=1), required=True, help="First audit event id to send.")
@click.option("--until", "until_id", type=click.IntRange(min=1), default=None, help="Last audit event id to send.")
def audit_forward(since_id, until_id):
    """Send the audit events from id SINCE (to UNTIL) to AUDIT_SYSLOG_URL, in id order.

    For the gap a warning named after an outage of the SIEM. Each message carries its event's id, so
    the SIEM can drop the ones it already has. Exit status 1, saying how far it got, if the SIEM
    cannot be reached.
    """
    destination = current_app.config["AUDIT_SYSLOG_DESTINATION"]
    if destination is None:
        raise click.ClickException("AUDIT_SYSLOG_URL is not set: there is nowhere to send the audit record.")
    try:
        report = forward_again(destination, since_id, until_id)
    except ForwardingFailed as failure:
        done = failure.report
        so_far = f"sent {done.sent} event(s), up to id {done.last_id}" if done.sent else "sent nothing"
        raise click.ClickException(f"could not send to {destination} ({failure.reason}); {so_far}.") from failure
    if not report.sent:
        click.echo(f"No audit events from id {since_id} on; nothing sent.")
        return
    click.echo(f"Sent {report.sent} audit event(s), ids {report.first_id} to {report.last_id}, to {destination}.")
