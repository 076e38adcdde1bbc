//! The wizard's `backendScreen`: the current step as a server-driven screen, for apps that draw
//! what the server describes instead of knowing every step type. A title and body texts
//! (`TextStyleV1`, `Alignment`) and the step's buttons (`ButtonStyle`, `ButtonVariance`), each
//! naming the mutation it triggers or the address it opens.

use async_graphql::Union;
use serde_json::json;

use super::*;
use crate::enums::{Alignment, ButtonStyle, ButtonVariance, TextStyleV1};

/// A text on a server-driven screen.
#[derive(SimpleObject, Debug, Clone)]
pub struct TextType {
    /// The text content.
    pub value: String,
    /// The text style, i.e. header, body.
    pub text_style: Option<TextStyleV1>,
    /// The text alignment.
    pub text_alignment: Option<Alignment>,
}

/// A button on a server-driven screen: it opens `url`, or triggers `mutation` with the wizard's
/// and step's ids.
#[derive(SimpleObject, Debug, Clone)]
pub struct RectangularButtonType {
    pub title: String,
    pub button_style: Option<ButtonStyle>,
    pub button_variance: Option<ButtonVariance>,
    pub url: Option<String>,
    pub mutation: Option<String>,
}

/// An element of a screen.
#[derive(Union, Debug, Clone)]
pub enum ItemType {
    TextType(TextType),
    RectangularButtonType(RectangularButtonType),
}

/// A list of components which make up a screen (version 1).
#[derive(SimpleObject, Debug, Clone)]
pub struct ComponentListType {
    pub id: Option<ID>,
    /// The name of the screen.
    pub name: String,
    /// The refresh / polling frequency in milliseconds.
    pub refresh_frequency: Option<i32>,
    /// Serialized JSON representation of the screen.
    pub screen_data: Option<String>,
    /// The list of components.
    pub items: Vec<ItemType>,
}

/// A screen described only by its `screenData` (version 2 and later).
#[derive(SimpleObject, Debug, Clone)]
pub struct GenericBackendScreen {
    pub id: Option<ID>,
    pub name: String,
    pub refresh_frequency: Option<i32>,
    pub screen_data: Option<String>,
}

/// A backend screen is the top-level container for mobile UI.
#[derive(Union, Debug, Clone)]
pub enum BackendScreenType {
    ComponentListType(ComponentListType),
    GenericBackendScreen(GenericBackendScreen),
}

fn text(value: &str, style: TextStyleV1, alignment: Alignment) -> ItemType {
    ItemType::TextType(TextType {
        value: value.to_owned(),
        text_style: Some(style),
        text_alignment: Some(alignment),
    })
}

fn button(
    title: &str,
    style: ButtonStyle,
    variance: ButtonVariance,
    url: Option<String>,
    mutation: Option<&str>,
) -> ItemType {
    ItemType::RectangularButtonType(RectangularButtonType {
        title: title.to_owned(),
        button_style: Some(style),
        button_variance: Some(variance),
        url,
        mutation: mutation.map(str::to_owned),
    })
}

fn primary(title: &str, url: Option<String>, mutation: Option<&str>) -> ItemType {
    button(
        title,
        ButtonStyle::Primary,
        ButtonVariance::Filled,
        url,
        mutation,
    )
}

/// What the screen of a step says and offers: title, body, buttons, and how often to poll.
fn content(step: Option<&Step>) -> (String, Vec<ItemType>, Option<i32>) {
    let mut items = Vec::new();
    let mut poll = None;
    let title = match step {
        None => {
            items.push(text(
                "Your device is connected.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            "All done".to_owned()
        }
        Some(Step::AuthFlow(s)) => {
            items.push(text(
                "Sign in at the manufacturer and allow ResiFlex to control your device.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary(
                "Sign in",
                s.authorization_uri.clone(),
                Some("completeAuthFlowForSmartFlexOnboarding"),
            ));
            "Connect your account".to_owned()
        }
        Some(Step::TeslaSetupVirtualKey(s)) => {
            items.push(text(
                "Pair the ResiFlex virtual key with your vehicle in the Tesla app, then continue.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary("Open the Tesla app", s.uri.clone(), None));
            items.push(button(
                "I have paired the key",
                ButtonStyle::Secondary,
                ButtonVariance::Outlined,
                None,
                Some("completeTeslaSetupVirtualKeyForSmartFlexOnboarding"),
            ));
            "Set up the virtual key".to_owned()
        }
        Some(Step::TeslaRegistrationFailed(_)) => {
            items.push(text(
                "Your Tesla login did not give ResiFlex every permission it needs.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary(
                "Grant the permissions",
                None,
                Some("completeTeslaRegistrationFailedForSmartFlexOnboarding"),
            ));
            "Permissions missing".to_owned()
        }
        Some(Step::TeslaModifyScopes(s)) => {
            items.push(text(
                "Grant the missing permissions at Tesla, then continue.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary("Open Tesla", s.modify_scopes_uri.clone(), None));
            items.push(button(
                "Continue",
                ButtonStyle::Secondary,
                ButtonVariance::Outlined,
                None,
                Some("completeUserActionForSmartFlexOnboarding"),
            ));
            "Grant permissions".to_owned()
        }
        Some(Step::UserActionRequired(s)) => {
            for action in &s.user_actions {
                items.push(text(
                    &action.description,
                    TextStyleV1::Body1,
                    Alignment::Start,
                ));
                if action.uri.is_some() {
                    items.push(button(
                        "Open",
                        ButtonStyle::Secondary,
                        ButtonVariance::TextOnly,
                        action.uri.clone(),
                        None,
                    ));
                }
            }
            items.push(primary(
                "Continue",
                None,
                Some("completeUserActionForSmartFlexOnboarding"),
            ));
            "Action needed".to_owned()
        }
        Some(Step::WaitForLiveIntegration(_) | Step::WaitForTransition(_)) => {
            poll = Some(5_000);
            items.push(text(
                "Waiting for the manufacturer. This screen updates by itself.",
                TextStyleV1::Body2,
                Alignment::Center,
            ));
            "Please wait".to_owned()
        }
        Some(Step::Retry(s)) => {
            items.push(text(&s.message, TextStyleV1::Body1, Alignment::Start));
            items.push(primary(
                "Try again",
                None,
                Some("completeRetryForSmartFlexOnboarding"),
            ));
            "Something went wrong".to_owned()
        }
        Some(Step::TestCharge(_)) => {
            items.push(text(
                "Plug your vehicle in at home, then start a short test charge.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary(
                "Start the test charge",
                None,
                Some("startTestChargeForSmartFlexOnboarding"),
            ));
            "Test charge".to_owned()
        }
        Some(Step::UserInputRequired(_)) => {
            items.push(text(
                "Enter your vehicle identification number.",
                TextStyleV1::Body1,
                Alignment::Start,
            ));
            items.push(primary(
                "Continue",
                None,
                Some("completeUserInputRequiredForSmartFlexOnboarding"),
            ));
            "Your vehicle".to_owned()
        }
        Some(Step::TerminalError(s)) => {
            items.push(text(&s.message, TextStyleV1::Body1, Alignment::Start));
            "The onboarding cannot continue".to_owned()
        }
        Some(Step::UnsupportedCombination(s)) => {
            items.push(text(&s.message, TextStyleV1::Body1, Alignment::Start));
            "Not supported yet".to_owned()
        }
        Some(Step::SmartFlexOnboardingDeviceRegistration(_)) => {
            poll = Some(5_000);
            "Registering your device".to_owned()
        }
        Some(Step::OcppConnectionDetails(s)) => {
            poll = Some(5_000);
            for line in [&s.websocket_url, &s.charge_point_id, &s.password]
                .into_iter()
                .flatten()
            {
                items.push(text(line, TextStyleV1::Tabular, Alignment::Start));
            }
            "Enter these details in your charger".to_owned()
        }
        Some(Step::SelectVehicleOrChargePoint(_)) => {
            items.push(primary(
                "Control the vehicle",
                None,
                Some("selectVehicleOrChargePointForSmartFlexOnboarding"),
            ));
            items.push(button(
                "Control the charger",
                ButtonStyle::Secondary,
                ButtonVariance::Outlined,
                None,
                Some("selectVehicleOrChargePointForSmartFlexOnboarding"),
            ));
            "Which one should ResiFlex control?".to_owned()
        }
        Some(list) => {
            items.push(primary(
                "Continue",
                None,
                Some("selectFromListForSmartFlexOnboarding"),
            ));
            format!("Choose: {}", list_title(list))
        }
    };
    let mut all = vec![text(&title, TextStyleV1::Title1, Alignment::Start)];
    all.extend(items);
    all.push(button(
        "Cancel",
        ButtonStyle::Secondary,
        ButtonVariance::TextOnly,
        None,
        Some("cancelSmartFlexOnboarding"),
    ));
    (title, all, poll)
}

fn list_title(step: &Step) -> &'static str {
    match step {
        Step::SelectDeviceType(_) => "your device type",
        Step::SelectVehicleMake(_) => "your vehicle's make",
        Step::SelectVehicleVariant(_) => "your vehicle's model",
        Step::SelectChargePointMake(_) => "your charger's make",
        Step::SelectChargePointVariant(_) => "your charger's model",
        Step::SelectUserVehicle(_) => "the vehicle to connect",
        Step::SelectSessionDevice(_) => "the device to connect",
        _ => "your device",
    }
}

fn item_json(item: &ItemType) -> serde_json::Value {
    match item {
        ItemType::TextType(t) => json!({
            "typename": "TextType",
            "value": t.value,
            "textStyle": t.text_style.map(|s| s.as_str()),
            "textAlignment": t.text_alignment.map(|a| a.as_str()),
        }),
        ItemType::RectangularButtonType(b) => json!({
            "typename": "RectangularButtonType",
            "title": b.title,
            "buttonStyle": b.button_style.map(|s| s.as_str()),
            "buttonVariance": b.button_variance.map(|v| v.as_str()),
            "url": b.url,
            "mutation": b.mutation,
        }),
    }
}

/// The screen of the wizard's current step, in the newest version the client supports.
pub(super) fn screen(
    loaded: &Journey,
    step: Option<&Step>,
    max_version_supported: i32,
) -> ApiResult<BackendScreenType> {
    if max_version_supported < 1 {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "`maxVersionSupported` must be 1 or more.",
        ));
    }
    let (name, items, refresh_frequency) = content(step);
    let step_id = step.map(|s| s.own_id().0.clone());
    let screen_data = json!({
        "name": name,
        "wizardId": loaded.row.id,
        "stepId": step_id,
        "items": items.iter().map(item_json).collect::<Vec<_>>(),
    })
    .to_string();
    let id = Some(ID(format!("{}:screen", loaded.row.id)));
    Ok(if max_version_supported == 1 {
        BackendScreenType::ComponentListType(ComponentListType {
            id,
            name,
            refresh_frequency,
            screen_data: Some(screen_data),
            items,
        })
    } else {
        BackendScreenType::GenericBackendScreen(GenericBackendScreen {
            id,
            name,
            refresh_frequency,
            screen_data: Some(screen_data),
        })
    })
}

impl Step {
    /// The step's id.
    fn own_id(&self) -> &ID {
        macro_rules! ids {
            ($($variant:ident),+ $(,)?) => {
                match self {
                    $(Step::$variant(s) => &s.id,)+
                }
            };
        }
        ids!(
            SelectDeviceType,
            SelectVehicleMake,
            SelectVehicleVariant,
            SelectChargePointMake,
            SelectChargePointVariant,
            SelectVehicleOrChargePoint,
            SelectHeatPumpMake,
            SelectHeatPumpVariant,
            SelectBatteryMake,
            SelectBatteryVariant,
            SelectInverterMake,
            SelectInverterSystemType,
            AuthFlow,
            OcppConnectionDetails,
            SelectSessionDevice,
            SelectUserVehicle,
            TeslaRegistrationFailed,
            TeslaModifyScopes,
            TeslaSetupVirtualKey,
            UserActionRequired,
            UserInputRequired,
            WaitForLiveIntegration,
            Retry,
            TestCharge,
            WaitForTransition,
            SmartFlexOnboardingDeviceRegistration,
            UnsupportedCombination,
            TerminalError,
        )
    }
}
