//! A statement as a self-contained HTML page.

use std::fmt::Write as _;

use resiflex_domain::billing::format_minor;

use super::{StatementDocument, signed_gross};

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub fn render(doc: &StatementDocument) -> String {
    let mut page = String::with_capacity(4096 + doc.lines.len() * 200);
    let e = escape;
    let date =
        |d: Option<chrono::NaiveDate>| d.map_or_else(|| "not issued".to_owned(), |d| d.to_string());
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement {id}</title>\
         <style>body{{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;width:100%}}th,td{{padding:4px 8px;border-bottom:1px solid #ddd}}\
         td.n,th.n{{text-align:right;white-space:nowrap}}tfoot td{{font-weight:bold}}</style></head><body>\n\
         <h1>Statement {id}</h1>\n<p>{name}<br>{address}</p>\n<dl>\
         <dt>Account</dt><dd>{account}</dd><dt>Ledger</dt><dd>{ledger} ({ledger_number})</dd>\
         <dt>Period</dt><dd>{from} to {to}</dd><dt>Issued</dt><dd>{issued}</dd>\
         <dt>Payment due</dt><dd>{due}</dd></dl>\n\
         <p>Opening balance: <strong>{opening}</strong></p>\n\
         <table><thead><tr><th>Date</th><th>Description</th><th class=\"n\">Net</th>\
         <th class=\"n\">VAT</th><th class=\"n\">Gross</th><th class=\"n\">Balance effect</th></tr></thead><tbody>\n",
        id = e(&doc.identifier),
        name = e(&doc.billing_name),
        address = doc
            .address
            .iter()
            .map(|l| e(l))
            .collect::<Vec<_>>()
            .join("<br>"),
        account = e(&doc.account_number),
        ledger = e(&doc.ledger_name),
        ledger_number = e(&doc.ledger_number),
        from = doc.period.from,
        to = doc.period.to,
        issued = date(doc.issued_date),
        due = date(doc.payment_due_date),
        opening = e(&doc.balance(doc.opening_balance)),
    );
    for line in &doc.lines {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            line.date,
            e(&line.title),
            format_minor(line.amounts.net),
            format_minor(line.amounts.tax),
            format_minor(line.amounts.gross),
            format_minor(signed_gross(line)),
        );
    }
    let _ = write!(
        page,
        "</tbody><tfoot>\
         <tr><td></td><td>Total charges</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr>\
         <tr><td></td><td>Total credits</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr>\
         </tfoot></table>\n<p>Closing balance: <strong>{}</strong></p>\n\
         <p>Amounts in {}.</p>\n</body></html>\n",
        format_minor(doc.charges.net),
        format_minor(doc.charges.tax),
        format_minor(doc.charges.gross),
        format_minor(doc.credits.net),
        format_minor(doc.credits.tax),
        format_minor(doc.credits.gross),
        e(&doc.balance(doc.closing_balance)),
        e(&doc.currency),
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::tests::sample;

    #[test]
    fn the_page_shows_the_statement_escaped() {
        let page = render(&sample());
        assert!(page.contains("Statement S-3F7K9Q2M1-20261101"));
        assert!(page.contains("Ada &lt;Lovelace&gt; &amp; Co"), "{page}");
        assert!(!page.contains("<Lovelace>"));
        assert!(page.contains("2026-11-01 to 2026-11-30"));
        assert!(page.contains("<td class=\"n\">120.00</td><td class=\"n\">6.00</td><td class=\"n\">126.00</td><td class=\"n\">-126.00</td>"));
        assert!(page.contains("GBP 123.45 owed"));
        assert!(page.contains("2026-12-14"));
    }
}
