//! Calendar values shared by several areas, such as the weekdays of a preference schedule.

kraken_enum! {
    /// A day of the week, for example the day a device preference schedule entry applies to.
    DayOfWeek {
        /// Friday, day 5 of the ISO week.
        Friday = "FRIDAY",
        /// Monday, day 1 of the ISO week.
        Monday = "MONDAY",
        /// Saturday, day 6 of the ISO week.
        Saturday = "SATURDAY",
        /// Sunday, day 7 of the ISO week.
        Sunday = "SUNDAY",
        /// Thursday, day 4 of the ISO week.
        Thursday = "THURSDAY",
        /// Tuesday, day 2 of the ISO week.
        Tuesday = "TUESDAY",
        /// Wednesday, day 3 of the ISO week.
        Wednesday = "WEDNESDAY",
    }
}
