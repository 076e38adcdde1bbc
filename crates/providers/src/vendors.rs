//! What each integration of `ProviderChoices` is: whose cloud it reaches, which kinds of device and
//! which makes it serves, and how a customer gives ResiFlex access at the vendor.
//!
//! The catalogue lists, for every model, the integrations that can connect it; this table is the
//! other side of that relation, and a test keeps the two consistent. The sandbox's simulated clouds
//! take their name and their way of authorising from it.

use resiflex_domain::device::{DeviceKind, Provider};

/// How a customer gives ResiFlex access to their devices at the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStyle {
    /// The vendor's OAuth consent: the customer signs in at the vendor's own page and allows
    /// access; the vendor redirects back with a one-time code.
    OAuthConsent,
    /// The customer signs in at the vendor's page with their vendor username and password (or
    /// the account's API key); the vendor then redirects back with a one-time code.
    Credentials,
    /// The customer proves they hold the device by entering the pairing code its display (or its
    /// label) shows, at the vendor's page; the vendor then redirects back with a one-time code.
    PairingCode,
    /// The device connects to ResiFlex itself (OCPP): the customer enters connection details in
    /// the device instead of visiting a vendor.
    DirectConnection,
}

impl AuthStyle {
    /// A short name for pages and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthStyle::OAuthConsent => "oauth-consent",
            AuthStyle::Credentials => "credentials",
            AuthStyle::PairingCode => "pairing-code",
            AuthStyle::DirectConnection => "direct-connection",
        }
    }
}

/// What one integration serves: kinds of device, each with the makes it reaches (no makes: every
/// make of that kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub kind: DeviceKind,
    pub makes: &'static [&'static str],
}

/// One integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vendor {
    pub provider: Provider,
    /// The vendor's name as the customer knows it (on the sandbox's pages).
    pub name: &'static str,
    /// Whether the integration is an aggregator that reaches other makers' clouds (Enode, Jedlix,
    /// Smartcar, SmartFlex Connect) rather than the maker's own.
    pub aggregator: bool,
    pub auth: AuthStyle,
    pub services: &'static [Service],
}

impl Vendor {
    /// Whether the integration can connect a device of this kind and make (makes compared without
    /// regard to case or surrounding spaces).
    pub fn serves(&self, kind: DeviceKind, make: &str) -> bool {
        self.services.iter().any(|service| {
            service.kind == kind
                && (service.makes.is_empty()
                    || service
                        .makes
                        .iter()
                        .any(|m| m.trim().eq_ignore_ascii_case(make.trim())))
        })
    }

    /// The kinds of device the integration serves.
    pub fn kinds(&self) -> impl Iterator<Item = DeviceKind> + '_ {
        self.services.iter().map(|service| service.kind)
    }
}

/// Kraken's `EnodeVendors` values with the make the catalogue spells each one as.
pub const ENODE_VENDORS: &[(&str, &str)] = &[
    ("AUDI", "Audi"),
    ("BMW", "BMW"),
    ("CHEVROLET", "Chevrolet"),
    ("CITROEN", "Citroen"),
    ("CUPRA", "Cupra"),
    ("DS", "DS"),
    ("FIAT", "Fiat"),
    ("FORD", "Ford"),
    ("HYUNDAI", "Hyundai"),
    ("JAGUAR", "Jaguar"),
    ("KIA", "Kia"),
    ("MERCEDES", "Mercedes-Benz"),
    ("MINI", "MINI"),
    ("NISSAN", "Nissan"),
    ("OPEL", "Opel"),
    ("PEUGEOT", "Peugeot"),
    ("PORSCHE", "Porsche"),
    ("RENAULT", "Renault"),
    ("SEAT", "Seat"),
    ("SKODA", "Skoda"),
    ("TOYOTA", "Toyota"),
    ("VAUXHALL", "Vauxhall"),
    ("VOLKSWAGEN", "Volkswagen"),
    ("VOLVO", "Volvo"),
];

const ENODE_MAKES: &[&str] = &[
    "Audi",
    "BMW",
    "Chevrolet",
    "Citroen",
    "Cupra",
    "DS",
    "Fiat",
    "Ford",
    "Hyundai",
    "Jaguar",
    "Kia",
    "Mercedes-Benz",
    "MINI",
    "Nissan",
    "Opel",
    "Peugeot",
    "Porsche",
    "Renault",
    "Seat",
    "Skoda",
    "Toyota",
    "Vauxhall",
    "Volkswagen",
    "Volvo",
];

const ANY: &[&str] = &[];

const fn one(kind: DeviceKind, makes: &'static [&'static str]) -> [Service; 1] {
    [Service { kind, makes }]
}

const fn two(
    first: DeviceKind,
    second: DeviceKind,
    makes: &'static [&'static str],
) -> [Service; 2] {
    [
        Service { kind: first, makes },
        Service {
            kind: second,
            makes,
        },
    ]
}

use AuthStyle::{Credentials, DirectConnection, OAuthConsent, PairingCode};
use DeviceKind::{Battery, ChargePoint, ElectricVehicle, HeatPump, Inverter, Thermostat};

macro_rules! vendor {
    ($provider:ident, $name:literal, $auth:expr, $services:expr) => {
        vendor!($provider, $name, false, $auth, $services)
    };
    ($provider:ident, $name:literal, $aggregator:literal, $auth:expr, $services:expr) => {
        Vendor {
            provider: Provider::$provider,
            name: $name,
            aggregator: $aggregator,
            auth: $auth,
            services: &$services,
        }
    };
}

/// Every integration, in the order of [`Provider::ALL`].
pub const VENDORS: &[Vendor] = &[
    vendor!(Byd, "BYD", Credentials, one(ElectricVehicle, &["BYD"])),
    vendor!(
        Daikin,
        "Daikin Onecta",
        OAuthConsent,
        one(HeatPump, &["Daikin"])
    ),
    vendor!(
        DaikinLcm,
        "Daikin local control module",
        PairingCode,
        one(HeatPump, &["Daikin"])
    ),
    vendor!(Ecobee, "ecobee", PairingCode, one(Thermostat, &["ecobee"])),
    vendor!(
        EcobeeV2,
        "ecobee",
        OAuthConsent,
        one(Thermostat, &["ecobee"])
    ),
    vendor!(
        Energizer,
        "Energizer Solar",
        Credentials,
        two(Battery, Inverter, &["Energizer"])
    ),
    vendor!(
        Enode,
        "Enode",
        true,
        OAuthConsent,
        one(ElectricVehicle, ENODE_MAKES)
    ),
    vendor!(
        Enphase,
        "Enphase Enlighten",
        OAuthConsent,
        two(Battery, Inverter, &["Enphase"])
    ),
    vendor!(
        Ford,
        "FordPass",
        OAuthConsent,
        one(ElectricVehicle, &["Ford"])
    ),
    vendor!(
        Givenergy,
        "GivEnergy",
        OAuthConsent,
        two(Battery, Inverter, &["GivEnergy"])
    ),
    vendor!(
        Huawei,
        "Huawei FusionSolar",
        Credentials,
        two(Battery, Inverter, &["Huawei"])
    ),
    vendor!(
        HuaweiV2,
        "Huawei FusionSolar",
        OAuthConsent,
        two(Battery, Inverter, &["Huawei"])
    ),
    vendor!(
        Hypervolt,
        "Hypervolt",
        Credentials,
        one(ChargePoint, &["Hypervolt"])
    ),
    vendor!(Indra, "Indra", PairingCode, one(ChargePoint, &["Indra"])),
    vendor!(
        Jedlix,
        "Jedlix",
        true,
        OAuthConsent,
        one(ElectricVehicle, ANY)
    ),
    vendor!(
        JedlixV2,
        "Jedlix",
        true,
        OAuthConsent,
        one(ElectricVehicle, ANY)
    ),
    vendor!(
        Mercedes,
        "Mercedes me",
        OAuthConsent,
        one(ElectricVehicle, &["Mercedes-Benz"])
    ),
    vendor!(
        Myenergi,
        "myenergi",
        Credentials,
        one(ChargePoint, &["myenergi"])
    ),
    vendor!(
        MyenergiV2,
        "myenergi",
        OAuthConsent,
        one(ChargePoint, &["myenergi"])
    ),
    vendor!(
        Nature,
        "Nature Remo",
        Credentials,
        one(Thermostat, &["Nature"])
    ),
    vendor!(
        Nissan,
        "NissanConnect",
        Credentials,
        one(ElectricVehicle, &["Nissan"])
    ),
    vendor!(Ocpp, "OCPP", DirectConnection, one(ChargePoint, ANY)),
    vendor!(
        OcppWallbox,
        "Wallbox (OCPP)",
        DirectConnection,
        one(ChargePoint, &["Wallbox"])
    ),
    vendor!(
        OctopusEnergy,
        "Octopus Energy",
        PairingCode,
        one(HeatPump, &["Octopus Energy", "Mitsubishi Electric"])
    ),
    vendor!(Ohme, "Ohme", Credentials, one(ChargePoint, &["Ohme"])),
    vendor!(OhmeV2, "Ohme", OAuthConsent, one(ChargePoint, &["Ohme"])),
    vendor!(Sensi, "Sensi", Credentials, one(Thermostat, &["Sensi"])),
    vendor!(SensiV2, "Sensi", OAuthConsent, one(Thermostat, &["Sensi"])),
    vendor!(
        Smartcar,
        "Smartcar",
        true,
        OAuthConsent,
        one(ElectricVehicle, ANY)
    ),
    vendor!(
        SmartflexConnect,
        "SmartFlex Connect",
        true,
        PairingCode,
        [
            Service {
                kind: ChargePoint,
                makes: ANY
            },
            Service {
                kind: HeatPump,
                makes: ANY
            },
            Service {
                kind: Battery,
                makes: ANY
            },
            Service {
                kind: Inverter,
                makes: ANY
            },
            Service {
                kind: Thermostat,
                makes: ANY
            },
        ]
    ),
    vendor!(
        SmartPear,
        "Smart Pear",
        true,
        PairingCode,
        one(Inverter, &["Solis"])
    ),
    vendor!(
        Solaredge,
        "SolarEdge monitoring",
        Credentials,
        [
            Service {
                kind: Battery,
                makes: &["SolarEdge", "LG Energy Solution"]
            },
            Service {
                kind: Inverter,
                makes: &["SolarEdge"]
            },
        ]
    ),
    vendor!(
        Tesla,
        "Tesla",
        OAuthConsent,
        two(ElectricVehicle, Battery, &["Tesla"])
    ),
    vendor!(
        TeslaV2,
        "Tesla",
        OAuthConsent,
        two(ElectricVehicle, Battery, &["Tesla"])
    ),
    vendor!(
        Volkswagen,
        "Volkswagen We Connect",
        OAuthConsent,
        one(ElectricVehicle, &["Volkswagen"])
    ),
    vendor!(
        VpAmazon,
        "Amazon",
        OAuthConsent,
        one(Thermostat, &["Amazon"])
    ),
    vendor!(
        VpHoneywellCc,
        "Honeywell Total Connect Comfort",
        Credentials,
        one(Thermostat, &["Honeywell"])
    ),
    vendor!(
        VpHoneywellRes,
        "Honeywell Home (Resideo)",
        OAuthConsent,
        one(Thermostat, &["Honeywell Home"])
    ),
    vendor!(
        VpNest,
        "Google Nest",
        OAuthConsent,
        one(Thermostat, &["Google Nest"])
    ),
];

/// The integration of a `ProviderChoices` value.
pub fn vendor(provider: Provider) -> &'static Vendor {
    VENDORS
        .iter()
        .find(|vendor| vendor.provider == provider)
        .unwrap_or(&VENDORS[0])
}

/// The integration named by a `ProviderChoices` string, if it is one.
pub fn vendor_named(name: &str) -> Option<&'static Vendor> {
    Provider::parse(name).map(vendor)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use resiflex_domain::catalogue::Catalogue;

    use super::*;

    fn enum_values(name: &str) -> Vec<String> {
        let seed: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/data/seed-enums.json")).unwrap();
        seed["enums"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_provider_has_one_vendor_in_order() {
        let ours: Vec<Provider> = VENDORS.iter().map(|v| v.provider).collect();
        assert_eq!(ours, Provider::ALL.to_vec());
        for provider in Provider::ALL {
            assert_eq!(vendor(*provider).provider, *provider);
            assert!(!vendor(*provider).services.is_empty());
            assert_eq!(
                vendor(*provider).auth == AuthStyle::DirectConnection,
                provider.connects_itself(),
                "{provider}"
            );
        }
        assert_eq!(vendor_named("VP_NEST").map(|v| v.name), Some("Google Nest"));
        assert!(vendor_named("NOBODY").is_none());
    }

    #[test]
    fn every_catalogue_entry_is_served_by_each_of_its_providers() {
        let catalogue = Catalogue::get().unwrap();
        for entry in catalogue.all() {
            for provider in entry.providers() {
                assert!(
                    vendor(*provider).serves(entry.kind(), entry.make()),
                    "{provider} does not serve {} {:?} ({})",
                    entry.make(),
                    entry.kind(),
                    entry.id()
                );
            }
        }
    }

    #[test]
    fn every_provider_serves_something_in_the_catalogue_and_is_reachable() {
        let catalogue = Catalogue::get().unwrap();
        for provider in Provider::ALL {
            assert!(
                !catalogue.by_provider(*provider).is_empty(),
                "{provider} connects nothing"
            );
        }
        assert_eq!(catalogue.reachable_providers(), Provider::ALL.to_vec());
        let kinds: BTreeSet<DeviceKind> = catalogue.all().map(|e| e.kind()).collect();
        assert_eq!(
            kinds.len(),
            DeviceKind::ALL.len(),
            "every kind is catalogued"
        );
    }

    #[test]
    fn enode_serves_exactly_the_enode_vendors_each_with_a_live_vehicle() {
        let names: Vec<String> = ENODE_VENDORS.iter().map(|(v, _)| (*v).to_owned()).collect();
        assert_eq!(names, enum_values("EnodeVendors"));
        let catalogue = Catalogue::get().unwrap();
        let enode = vendor(Provider::Enode);
        for (_, make) in ENODE_VENDORS {
            assert!(enode.serves(DeviceKind::ElectricVehicle, make), "{make}");
            assert!(
                catalogue
                    .models(DeviceKind::ElectricVehicle, make)
                    .iter()
                    .any(|e| e.integration_status().is_live() && e.supported_by(Provider::Enode)),
                "no live {make} through Enode"
            );
        }
        for make in catalogue.makes(DeviceKind::ElectricVehicle) {
            let listed = ENODE_VENDORS.iter().any(|(_, m)| *m == make);
            assert_eq!(
                enode.serves(DeviceKind::ElectricVehicle, make),
                listed,
                "{make}"
            );
        }
    }

    #[test]
    fn every_style_of_authorisation_is_used() {
        for style in [OAuthConsent, Credentials, PairingCode, DirectConnection] {
            assert!(
                VENDORS.iter().any(|v| v.auth == style),
                "{}",
                style.as_str()
            );
        }
        assert!(vendor(Provider::Jedlix).aggregator);
        assert!(!vendor(Provider::Ford).aggregator);
        assert!(vendor(Provider::Ford).serves(ElectricVehicle, " ford "));
        assert!(!vendor(Provider::Ford).serves(ElectricVehicle, "Tesla"));
        assert!(vendor(Provider::Sensi).kinds().all(|k| k == Thermostat));
    }
}
