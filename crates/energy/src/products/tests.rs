#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, TimeZone};
use resiflex_domain::tariff::{Rate, Tariff};
use resiflex_store::testing::TestDb;

use super::*;
use crate::fixtures::single_rate;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

async fn rate_table(db: &Db, code: &str, owner: Option<i64>, slots: i64) {
    let tariff = Tariff {
        code: code.into(),
        name: code.into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let rates: Vec<Rate> = (0..slots)
        .map(|i| Rate {
            valid_from: t0() + Duration::minutes(30 * i),
            valid_to: t0() + Duration::minutes(30 * (i + 1)),
            import_minor_per_kwh: Micros(10_000_000 + 1_000_000 * i),
            export_minor_per_kwh: None,
            carbon_g_per_kwh: None,
        })
        .collect();
    tariffs::import_rates(db, &tariff, owner, &rates, t0())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_product_is_saved_whole_and_read_back_as_it_is_at_an_instant() {
    let test = TestDb::new().await;
    let db = &test.db;
    let saved = save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
    assert!(saved.created);
    assert_eq!((saved.tariffs, saved.charges), (3, 5));

    let detail = detail(db, "FLEX-26-12-01", t0() + Duration::days(3))
        .await
        .unwrap();
    assert_eq!(detail.product.product.full_name, "Flexible December 2026");
    let codes: Vec<String> = detail
        .tariffs
        .iter()
        .map(|t| t.tariff.tariff.code.to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "E-1R-FLEX-26-12-01-C",
            "E-1R-FLEX-26-12-01-C",
            "G-1R-FLEX-26-12-01-C"
        ]
    );
    let dd = &detail.tariffs[0];
    assert_eq!(
        dd.tariff.tariff.payment_method,
        PaymentMethod::DirectDebitMonthly
    );
    assert_eq!(dd.unit, Some(Micros(22_123_456)));
    assert_eq!(dd.standing, Some(Micros(40_000_000)));
    assert_eq!(detail.tariffs[1].standing, None);

    // Saving again replaces the tariffs' charges and keeps one product.
    let mut changed = single_rate("FLEX-26-12-01");
    changed.display_name = "Flexible (new)".into();
    changed.tariffs.truncate(1);
    changed.tariffs[0].charges.truncate(1);
    let again = save(db, None, &changed, t0()).await.unwrap();
    assert!(!again.created);
    let detail = super::detail(db, "FLEX-26-12-01", t0()).await.unwrap();
    assert_eq!(detail.product.product.display_name, "Flexible (new)");
    assert_eq!(detail.tariffs.len(), 3);
    assert_eq!(detail.tariffs[0].unit, None);
}

#[tokio::test]
async fn price_lists_are_newest_first_with_vat_and_pages() {
    let test = TestDb::new().await;
    let db = &test.db;
    save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
    let all = Paging::new(None, None).unwrap();
    let rates = prices(
        db,
        "FLEX-26-12-01",
        Fuel::Electricity,
        "E-1R-FLEX-26-12-01-C",
        PriceList::StandardUnitRates,
        None,
        None,
        all,
    )
    .await
    .unwrap();
    // Both payment methods' rows, newest first.
    assert_eq!(rates.count, 3);
    let values: Vec<(i64, Option<PaymentMethod>)> = rates
        .items
        .iter()
        .map(|r| (r.value_exc_vat.0, r.payment_method))
        .collect();
    assert_eq!(
        values,
        [
            (22_123_456, Some(PaymentMethod::DirectDebitMonthly)),
            (24_500_000, Some(PaymentMethod::DirectDebitMonthly)),
            (26_000_000, Some(PaymentMethod::Varying)),
        ]
    );
    assert_eq!(rates.items[0].value_inc_vat, Micros(23_229_629));
    // A window keeps the rows that apply within it.
    let december = prices(
        db,
        "FLEX-26-12-01",
        Fuel::Electricity,
        "E-1R-FLEX-26-12-01-C",
        PriceList::StandardUnitRates,
        Some(t0()),
        Some(t0() + Duration::days(1)),
        all,
    )
    .await
    .unwrap();
    assert_eq!(december.count, 2);
    // Pages.
    let second = prices(
        db,
        "FLEX-26-12-01",
        Fuel::Electricity,
        "E-1R-FLEX-26-12-01-C",
        PriceList::StandardUnitRates,
        None,
        None,
        Paging::new(Some(2), Some(2)).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.has_previous() && !second.has_next());
    assert!(matches!(
        prices(
            db,
            "FLEX-26-12-01",
            Fuel::Electricity,
            "E-1R-FLEX-26-12-01-C",
            PriceList::StandardUnitRates,
            None,
            None,
            Paging::new(Some(3), Some(2)).unwrap()
        )
        .await,
        Err(EnergyError::NotFound)
    ));
    // What does not exist is not found: another product's code, the wrong fuel, a list the tariff lacks.
    for (product, fuel, tariff, list) in [
        (
            "OTHER",
            Fuel::Electricity,
            "E-1R-FLEX-26-12-01-C",
            PriceList::StandardUnitRates,
        ),
        (
            "FLEX-26-12-01",
            Fuel::Gas,
            "E-1R-FLEX-26-12-01-C",
            PriceList::StandardUnitRates,
        ),
        (
            "FLEX-26-12-01",
            Fuel::Electricity,
            "E-1R-FLEX-26-12-01-A",
            PriceList::StandardUnitRates,
        ),
        (
            "FLEX-26-12-01",
            Fuel::Electricity,
            "E-1R-FLEX-26-12-01-C",
            PriceList::NightUnitRates,
        ),
        (
            "FLEX-26-12-01",
            Fuel::Electricity,
            "not a code",
            PriceList::StandingCharges,
        ),
    ] {
        assert!(
            matches!(
                prices(db, product, fuel, tariff, list, None, None, all).await,
                Err(EnergyError::NotFound)
            ),
            "{product} {tariff} {list:?}"
        );
    }
    assert!(matches!(
        prices(
            db,
            "FLEX-26-12-01",
            Fuel::Electricity,
            "E-1R-FLEX-26-12-01-C",
            PriceList::StandingCharges,
            None,
            Some(t0()),
            all
        )
        .await,
        Err(EnergyError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_dynamic_product_sells_its_rate_table_half_hour_by_half_hour() {
    let test = TestDb::new().await;
    let db = &test.db;
    rate_table(db, "AGILE-RATES", None, 48).await;
    save_sandbox_product(
        db,
        None,
        "RESIFLEX-AGILE-26-12-01",
        "AGILE-RATES",
        'C',
        t0(),
        t0(),
    )
    .await
    .unwrap();
    let at = t0() + Duration::minutes(95);
    let detail = detail(db, "RESIFLEX-AGILE-26-12-01", at).await.unwrap();
    assert_eq!(detail.tariffs.len(), 2);
    assert_eq!(detail.tariffs[0].unit, Some(Micros(13_000_000)));
    let page = prices(
        db,
        "RESIFLEX-AGILE-26-12-01",
        Fuel::Electricity,
        "E-1R-RESIFLEX-AGILE-26-12-01-C",
        PriceList::StandardUnitRates,
        Some(t0() + Duration::hours(2)),
        Some(t0() + Duration::hours(4)),
        Paging::new(None, None).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.count, 4);
    assert_eq!(
        page.items[0].valid_from,
        Some(t0() + Duration::minutes(210))
    );
    assert_eq!(page.items[0].value_exc_vat, Micros(17_000_000));
    assert_eq!(page.items[0].value_inc_vat, Micros(17_850_000));
    assert_eq!(page.items[0].payment_method, None);
    // Idempotent.
    let again = save_sandbox_product(
        db,
        None,
        "RESIFLEX-AGILE-26-12-01",
        "AGILE-RATES",
        'C',
        t0(),
        t0(),
    )
    .await
    .unwrap();
    assert!(!again.created);
}

#[tokio::test]
async fn the_list_shows_what_everyone_can_take_now() {
    let test = TestDb::new().await;
    let db = &test.db;
    save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
    let mut restricted = single_rate("STAFF-26-12-01");
    restricted.availability = "RESTRICTED".into();
    save(db, None, &restricted, t0()).await.unwrap();
    let mut ended = single_rate("OLD-25-01-01");
    ended.available_to = Some(t0());
    save(db, None, &ended, t0()).await.unwrap();
    let mut fixed = single_rate("FIXED-26-12-01");
    fixed.is_variable = false;
    save(db, None, &fixed, t0()).await.unwrap();

    let all = Paging::new(None, None).unwrap();
    let now = list(db, t0(), ProductFilter::default(), all).await.unwrap();
    let codes: Vec<&str> = now.items.iter().map(|p| p.product.code.as_str()).collect();
    assert_eq!(codes, ["FIXED-26-12-01", "FLEX-26-12-01"]);
    let variable = list(
        db,
        t0(),
        ProductFilter {
            is_variable: Some(true),
            ..ProductFilter::default()
        },
        all,
    )
    .await
    .unwrap();
    assert_eq!(variable.count, 1);
    let earlier = list(db, t0() - Duration::days(1), ProductFilter::default(), all)
        .await
        .unwrap();
    assert_eq!(earlier.count, 3);
}

#[tokio::test]
async fn organisations_change_only_their_own_products_and_rate_tables() {
    let test = TestDb::new().await;
    let db = &test.db;
    let one = resiflex_store::testing::household(db, "one@example.com", t0()).await;
    let two = resiflex_store::testing::household(db, "two@example.com", t0()).await;
    save(
        db,
        Some(one.organisation_id),
        &single_rate("FLEX-26-12-01"),
        t0(),
    )
    .await
    .unwrap();
    assert!(matches!(
        save(
            db,
            Some(two.organisation_id),
            &single_rate("FLEX-26-12-01"),
            t0()
        )
        .await,
        Err(EnergyError::NotOwner)
    ));
    rate_table(db, "ONES-RATES", Some(one.organisation_id), 2).await;
    let err = save_sandbox_product(
        db,
        Some(two.organisation_id),
        "TWOS-AGILE",
        "ONES-RATES",
        'A',
        t0(),
        t0(),
    )
    .await;
    assert!(matches!(err, Err(EnergyError::NotOwner)), "{err:?}");
    // The operator may change anything.
    save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
}

#[test]
fn documents_are_checked_before_anything_is_stored() {
    let check = |edit: &dyn Fn(&mut ProductDocument), needle: &str| {
        let mut doc = single_rate("FLEX-26-12-01");
        edit(&mut doc);
        match doc.validate() {
            Err(EnergyError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
            other => panic!("{needle}: {other:?}"),
        }
    };
    check(&|d| d.code = "flex".into(), "product code");
    check(&|d| d.display_name = " ".into(), "displayName");
    check(&|d| d.availability = "SOMETIMES".into(), "EVERYONE");
    check(&|d| d.tariffs[0].region = "I".into(), "region");
    check(&|d| d.tariffs[0].kind = "DYNAMIC".into(), "ratesTariff");
    check(
        &|d| d.tariffs[0].rates_tariff = Some("X".into()),
        "only a dynamic",
    );
    check(&|d| d.tariffs[2].kind = "DAY_NIGHT".into(), "gas");
    check(
        &|d| d.tariffs[0].charges[1].value_exc_vat = "1e3".into(),
        "charges[1].valueExcVat",
    );
    check(
        &|d| d.tariffs[0].charges[2].valid_from = t0() - Duration::days(2),
        "overlaps",
    );
    check(
        &|d| d.tariffs[1].payment_method = "DIRECT_DEBIT_MONTHLY".into(),
        "listed twice",
    );
    check(&|d| d.tariffs[0].vat_basis_points = 20_000, "VAT");
    check(
        &|d| d.available_to = Some(t0() - Duration::days(60)),
        "availableTo",
    );
}
