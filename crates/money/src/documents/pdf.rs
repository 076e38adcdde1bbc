//! A statement as a PDF: A4 pages in the built-in Helvetica (nothing embedded), the same content
//! as the HTML page. Text outside printable ASCII is shown as `?`, since the built-in fonts'
//! standard encoding has no other characters in common with Unicode.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use resiflex_domain::billing::format_minor;

use super::{StatementDocument, signed_gross};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LEADING: f32 = 14.0;
const SIZE: f32 = 9.0;
const FONT: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Text the standard encoding prints: printable ASCII, anything else as `?`.
fn ascii(text: &str, max: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text
        .chars()
        .take(max)
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c as u8
            } else {
                b'?'
            }
        })
        .collect();
    if text.chars().count() > max {
        out.extend_from_slice(b"...");
    }
    out
}

/// The width of an amount in Helvetica at `size`: digits are 556/1000 em, `,` and `.` 278, `-` 333.
fn amount_width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            ',' | '.' => 278,
            '-' => 333,
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// One line of text to place.
struct Cell {
    x: f32,
    text: Vec<u8>,
    bold: bool,
    /// Right-aligned at `x` (an amount).
    right: bool,
}

/// The document's lines, each a row of cells, before they are cut into pages.
fn rows(doc: &StatementDocument) -> Vec<Vec<Cell>> {
    let left = |text: String, bold| Cell {
        x: MARGIN,
        text: ascii(&text, 110),
        bold,
        right: false,
    };
    let date =
        |d: Option<chrono::NaiveDate>| d.map_or_else(|| "not issued".to_owned(), |d| d.to_string());
    let mut out = vec![
        vec![left(format!("Statement {}", doc.identifier), true)],
        vec![],
        vec![left(doc.billing_name.clone(), false)],
    ];
    out.extend(doc.address.iter().map(|l| vec![left(l.clone(), false)]));
    out.push(vec![]);
    for text in [
        format!("Account: {}", doc.account_number),
        format!("Ledger: {} ({})", doc.ledger_name, doc.ledger_number),
        format!("Period: {} to {}", doc.period.from, doc.period.to),
        format!("Issued: {}", date(doc.issued_date)),
        format!("Payment due: {}", date(doc.payment_due_date)),
        format!("Amounts in {}", doc.currency),
    ] {
        out.push(vec![left(text, false)]);
    }
    out.push(vec![]);
    out.push(vec![left(
        format!("Opening balance: {}", doc.balance(doc.opening_balance)),
        true,
    )]);
    out.push(vec![]);
    let amount = |x: f32, value: i64, bold| Cell {
        x,
        text: format_minor(value).into_bytes(),
        bold,
        right: true,
    };
    let header = |x: f32, text: &str, right| Cell {
        x,
        text: text.as_bytes().to_vec(),
        bold: true,
        right,
    };
    out.push(vec![
        header(MARGIN, "Date", false),
        header(MARGIN + 60.0, "Description", false),
        header(400.0, "Net", true),
        header(450.0, "VAT", true),
        header(500.0, "Gross", true),
        header(WIDTH - MARGIN, "Effect", true),
    ]);
    for line in &doc.lines {
        out.push(vec![
            Cell {
                x: MARGIN,
                text: line.date.to_string().into_bytes(),
                bold: false,
                right: false,
            },
            Cell {
                x: MARGIN + 60.0,
                text: ascii(&line.title, 52),
                bold: false,
                right: false,
            },
            amount(400.0, line.amounts.net, false),
            amount(450.0, line.amounts.tax, false),
            amount(500.0, line.amounts.gross, false),
            amount(WIDTH - MARGIN, signed_gross(line), false),
        ]);
    }
    out.push(vec![]);
    for (label, totals) in [
        ("Total charges", doc.charges),
        ("Total credits", doc.credits),
    ] {
        out.push(vec![
            header(MARGIN + 60.0, label, false),
            amount(400.0, totals.net, true),
            amount(450.0, totals.tax, true),
            amount(500.0, totals.gross, true),
        ]);
    }
    out.push(vec![]);
    out.push(vec![left(
        format!("Closing balance: {}", doc.balance(doc.closing_balance)),
        true,
    )]);
    out
}

/// The PDF's bytes.
pub fn render(doc: &StatementDocument) -> Vec<u8> {
    let rows = rows(doc);
    let per_page = ((HEIGHT - 2.0 * MARGIN) / LEADING).floor().max(1.0) as usize;
    let pages: Vec<&[Vec<Cell>]> = rows.chunks(per_page).collect();
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let bold = Ref::new(4);
    let page_ref = |i: usize| Ref::new(5 + 2 * i32::try_from(i).unwrap_or(0));
    let content_ref = |i: usize| Ref::new(6 + 2 * i32::try_from(i).unwrap_or(0));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold"));
    for (i, cells) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_ref(i));
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(FONT, font);
        fonts.pair(BOLD, bold);
        drop(fonts);
        drop(resources);
        drop(page);
        let mut content = Content::new();
        let mut y = HEIGHT - MARGIN;
        for row in cells.iter() {
            for cell in row {
                let x = if cell.right {
                    cell.x - amount_width(&String::from_utf8_lossy(&cell.text), SIZE)
                } else {
                    cell.x
                };
                content.begin_text();
                content.set_font(if cell.bold { BOLD } else { FONT }, SIZE);
                content.next_line(x, y);
                content.show(Str(&cell.text));
                content.end_text();
            }
            y -= LEADING;
        }
        pdf.stream(content_ref(i), &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::tests::sample;

    #[test]
    fn the_pdf_is_a_pdf_with_the_statement_text() {
        let bytes = render(&sample());
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Helvetica"));
        assert!(
            text.contains("Statement S-3F7K9Q2M1-20261101"),
            "uncompressed text"
        );
        assert!(text.contains("GBP 123.45 owed"));
    }

    #[test]
    fn long_documents_run_over_pages() {
        let mut doc = sample();
        let line = doc.lines[0].clone();
        doc.lines = vec![line; 200];
        let text = String::from_utf8_lossy(&render(&doc)).into_owned();
        // 200 lines and the heading at 14 points a line on A4: five pages.
        assert!(
            text.contains("/Count 5"),
            "{}",
            &text[..400.min(text.len())]
        );
        assert_eq!(ascii("Caf\u{e9}", 10), b"Caf?".to_vec());
    }

    #[test]
    fn amounts_are_measured_for_right_alignment() {
        assert!((amount_width("1,234.56", 10.0) - (6.0 * 5.56 + 2.0 * 2.78)).abs() < 1e-3);
        assert!(amount_width("-1.00", 9.0) > amount_width("1.00", 9.0));
    }
}
