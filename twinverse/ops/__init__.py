"""Operations intelligence: alarm rules and the ISA-18.2 lifecycle, OEE per ISO 22400, energy."""

from __future__ import annotations

from .alarmkpis import Raises, alarm_kpis, area_kpis
from .alarms import Alarm, AlarmService, AlarmWatch
from .compiled import CompiledRules, Transitions
from .email import EmailNotifier, SmtpServer
from .journal import AlarmEvent, Journal
from .kpis import KpiService, Production
from .lifecycle import AlarmCondition, AlarmState, Event
from .notify import WebhookNotifier
from .rulebook import RuleBook, rule_doc

__all__ = [
    "Alarm",
    "AlarmCondition",
    "AlarmEvent",
    "AlarmService",
    "AlarmState",
    "AlarmWatch",
    "CompiledRules",
    "EmailNotifier",
    "Event",
    "Journal",
    "KpiService",
    "Production",
    "Raises",
    "RuleBook",
    "SmtpServer",
    "Transitions",
    "WebhookNotifier",
    "alarm_kpis",
    "area_kpis",
    "rule_doc",
]
