//! Values that shape what client apps display: layout and typography of server-driven screens, client kinds and accessible formats.

kraken_enum! {
    /// Horizontal alignment of an element on a server-driven screen.
    Alignment {
        /// Centred.
        Center = "CENTER",
        /// Against the trailing edge, which is the right in left-to-right languages.
        End = "END",
        /// Against the leading edge, which is the left in left-to-right languages.
        Start = "START",
    }
}

kraken_enum! {
    /// Visual emphasis of a button on a server-driven screen.
    ButtonStyle {
        /// The main action of the screen, drawn most prominently.
        Primary = "PRIMARY",
        /// An alternative, less prominent action.
        Secondary = "SECONDARY",
    }
}

kraken_enum! {
    /// How a button is drawn.
    ButtonVariance {
        /// A solid background.
        Filled = "FILLED",
        /// A border around a transparent background.
        Outlined = "OUTLINED",
        /// Only the label, with neither background nor border.
        TextOnly = "TEXT_ONLY",
    }
}

kraken_enum! {
    /// Kind of client application a request or setting is for.
    ClientType {
        /// The mobile app.
        App = "APP",
        /// The website, used in a browser.
        Web = "WEB",
    }
}

kraken_enum! {
    /// Accessible format in which the account holder needs to receive documents.
    DocumentAccessibilityChoices {
        /// Documents provided as audio recordings.
        Audio = "AUDIO",
        /// Documents printed in Braille.
        Braille = "BRAILLE",
        /// Documents printed in a large typeface.
        LargePrint = "LARGE_PRINT",
    }
}

kraken_enum! {
    /// Song preference stored for a customer; the schema only defines the no-preference value so far.
    Songs {
        /// The customer has not chosen a song.
        NoSongPreferred = "NO_SONG_PREFERRED",
    }
}

kraken_enum! {
    /// Typographic style from the type scale of the mobile design system, which the app maps to a font, size and weight.
    TextStyleV1 {
        /// Main body text.
        Body1 = "BODY1",
        /// Secondary body text.
        Body2 = "BODY2",
        /// Text on buttons.
        ButtonText = "BUTTON_TEXT",
        /// First-level callout text, for highlighting information.
        Callout1 = "CALLOUT1",
        /// Second-level callout text.
        Callout2 = "CALLOUT2",
        /// Third-level callout text.
        Callout3 = "CALLOUT3",
        /// Label shown above a form input.
        InputTitle = "INPUT_TITLE",
        /// First-level small text, for captions and fine print.
        Small1 = "SMALL1",
        /// Second-level small text.
        Small2 = "SMALL2",
        /// Third-level small text.
        Small3 = "SMALL3",
        /// Text for tables and figures, with digits of equal width.
        Tabular = "TABULAR",
        /// Heading of the first level, the largest.
        Title1 = "TITLE1",
        /// Heading of the second level.
        Title2 = "TITLE2",
        /// Heading of the third level.
        Title3 = "TITLE3",
        /// Heading of the fourth level.
        Title4 = "TITLE4",
        /// Heading of the fifth level.
        Title5 = "TITLE5",
        /// Heading of the sixth level, the smallest.
        Title6 = "TITLE6",
    }
}
