"""The report's print stylesheet: A4 with margins, page numbers in the bottom margin box (CSS
paged media, which Chromium ≥ 131 prints), and the CJK fonts of Debian's fonts-noto-cjk
(serif body in the manner of a printed government report, sans headings and tables)."""

CSS = """
@page {
  size: A4;
  margin: 22mm 18mm 20mm 18mm;
  @bottom-center {
    content: "— " counter(page) " —";
    font-family: "Noto Serif CJK SC", serif;
    font-size: 9pt;
    color: #333;
  }
  @top-right {
    font-family: "Noto Sans CJK SC", sans-serif;
    font-size: 8pt;
    color: #777;
  }
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0;
  font-family: "Noto Serif CJK SC", "Noto Serif CJK", serif;
  font-size: 11pt;
  line-height: 1.75;
  color: #111;
}
.cover { text-align: center; padding-top: 6mm; margin-bottom: 8mm; }
.cover .secret {
  text-align: left; font-family: "Noto Sans CJK SC", sans-serif; font-size: 10pt;
  margin-bottom: 10mm;
}
.cover h1 {
  font-family: "Noto Serif CJK SC", serif; font-weight: 700; color: #b00000;
  font-size: 22pt; letter-spacing: 1pt; line-height: 1.4; margin: 0 0 3mm 0;
}
.cover .period { font-size: 14pt; margin: 0 0 5mm 0; }
.cover .rule { border: 0; border-top: 2px solid #b00000; margin: 0 0 1px 0; }
.cover .rule2 { border: 0; border-top: 0.6px solid #b00000; margin: 0 0 4mm 0; }
.cover .org {
  display: flex; justify-content: space-between; font-size: 10.5pt;
  font-family: "Noto Sans CJK SC", sans-serif;
}
h2 {
  font-family: "Noto Sans CJK SC", sans-serif; font-size: 14pt; font-weight: 700;
  margin: 7mm 0 2mm 0; break-after: avoid;
}
h3 {
  font-family: "Noto Sans CJK SC", sans-serif; font-size: 11.5pt; font-weight: 700;
  margin: 4mm 0 1.5mm 0; break-after: avoid;
}
p.para { text-indent: 2em; margin: 0 0 2mm 0; text-align: justify; }
.note { font-size: 8.5pt; color: #555; line-height: 1.5; margin: 1mm 0 3mm 0; }
table.t {
  width: 100%; border-collapse: collapse; margin: 1mm 0 2mm 0;
  font-family: "Noto Sans CJK SC", sans-serif; font-size: 8.5pt; line-height: 1.35;
}
table.t caption {
  caption-side: top; text-align: center; font-weight: 700; font-size: 9.5pt;
  padding-bottom: 1mm;
}
table.t th, table.t td { border: 0.6px solid #444; padding: 1mm 1.2mm; white-space: nowrap; }
table.t.dense { font-size: 6.5pt; }
table.t.dense th, table.t.dense td { padding: 0.6mm 0.5mm; }
table.t td.w { white-space: normal; min-width: 30mm; }
table.t th { background: #e8edf5; font-weight: 700; text-align: center; }
table.t td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.t tr { break-inside: avoid; }
.keep { break-inside: avoid; }
table.t thead { display: table-header-group; }
table.t tr.bottom td { background: #fde8e8; color: #9b0000; }
table.t tr.gap td { text-align: center; color: #666; background: #fafafa; }
td.good { color: #17703a; }
td.bad { color: #b00000; }
.tag {
  display: inline-block; font-size: 7pt; border: 0.6px solid #b00000; color: #b00000;
  padding: 0 1mm; margin-left: 1mm; line-height: 1.3;
}
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 2mm 5mm; }
.chart { break-inside: avoid; }
.chart.wide { grid-column: 1 / span 2; }
.chart svg { display: block; }
.legend { font-size: 8pt; color: #555; }
"""
