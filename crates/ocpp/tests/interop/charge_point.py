"""An OCPP 1.6-J charge point built on the `ocpp` package from PyPI, for interoperability tests of
ResiFlex's central system. It checks that a wrong password is refused, then boots, reports its
status, runs a transaction with meter values, answers the central system's calls (capability
probe, charging profiles, composite schedule) and ends the transaction once ResiFlex has sent a
default charging profile and read the composite schedule back.

Usage: charge_point.py URL CHARGE_POINT_ID PASSWORD

Each step prints one line on standard output for the test to read: REFUSED <status>,
BOOT <status> <interval>, TRANSACTION <id>, METERED, PROFILE <json>, COMPOSITE <json>, STOPPED.
"""

import asyncio
import base64
import json
import sys
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as BaseChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import (
    Action,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    ConfigurationStatus,
    GetCompositeScheduleStatus,
    RemoteStartStopStatus,
    TriggerMessageStatus,
)


def say(*words):
    print(*words, flush=True)


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ChargePoint(BaseChargePoint):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiles = {}
        self.verified = asyncio.Event()

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None, **kwargs):
        known = {
            "ChargingScheduleAllowedChargingRateUnit": "Current",
            "ChargeProfileMaxStackLevel": "3",
            "ChargingScheduleMaxPeriods": "24",
            "ConnectorPhaseRotation": "1.RST",
        }
        asked = key or list(known)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": True, "value": known[k]} for k in asked if k in known
            ],
            unknown_key=[k for k in asked if k not in known] or None,
        )

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value, **kwargs):
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id, cs_charging_profiles, **kwargs):
        self.profiles[cs_charging_profiles["charging_profile_purpose"]] = cs_charging_profiles
        say("PROFILE", json.dumps(cs_charging_profiles, sort_keys=True))
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, **kwargs):
        return call_result.ClearChargingProfile(status=ClearChargingProfileStatus.unknown)

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id, duration, charging_rate_unit=None, **kwargs):
        profile = self.profiles.get("TxProfile") or self.profiles.get("TxDefaultProfile")
        if profile is None:
            return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
        schedule = dict(profile["charging_schedule"])
        schedule["duration"] = duration
        say("COMPOSITE", json.dumps(schedule, sort_keys=True))
        self.verified.set()
        return call_result.GetCompositeSchedule(
            status=GetCompositeScheduleStatus.accepted,
            connector_id=connector_id,
            schedule_start=schedule.get("start_schedule"),
            charging_schedule=schedule,
        )

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message, **kwargs):
        return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, **kwargs):
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id, **kwargs):
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)


async def main(url, charge_point_id, password):
    try:
        async with websockets.connect(
            url, subprotocols=["ocpp1.6"], additional_headers=basic(charge_point_id, "wrong" + password)
        ):
            say("ACCEPTED-WITH-A-WRONG-PASSWORD")
            return 2
    except websockets.exceptions.InvalidStatus as refused:
        say("REFUSED", refused.response.status_code)

    async with websockets.connect(
        url, subprotocols=["ocpp1.6"], additional_headers=basic(charge_point_id, password)
    ) as ws:
        cp = ChargePoint(charge_point_id, ws, response_timeout=20)
        serving = asyncio.create_task(cp.start())
        boot = await cp.call(
            call.BootNotification(charge_point_model="Pulsar Plus", charge_point_vendor="Wallbox")
        )
        say("BOOT", boot.status, boot.interval)
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        await cp.call(call.Heartbeat())
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
        await cp.call(call.Authorize(id_tag="TAG-1"))
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="TAG-1", meter_start=1000, timestamp=now())
        )
        say("TRANSACTION", started.transaction_id)
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[
                    {
                        "timestamp": now(),
                        "sampled_value": [
                            {"value": "1.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                            {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                            {"value": "40", "measurand": "SoC", "unit": "Percent"},
                        ],
                    }
                ],
            )
        )
        say("METERED")
        await asyncio.wait_for(cp.verified.wait(), timeout=30)
        await cp.call(
            call.StopTransaction(
                meter_stop=2500, timestamp=now(), transaction_id=started.transaction_id, reason="EVDisconnected"
            )
        )
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        say("STOPPED")
        serving.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3])))
