// "Export CSV" of a table as the page shows it (its header and body rows, the totals row too), written in the browser:
// RFC 4180 quoting, a UTF-8 byte-order mark for spreadsheet programs, and cells that a spreadsheet would run as a
// formula (=, +, -, @ first: a visitor's campaign can be anything) prefixed with an apostrophe.

const quote = (text) => {
  const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d[\d,.]*$/.test(text) ? "'" + text : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function tableToCsv(table) {
  return [...table.rows]
    .map((row) => [...row.cells].map((cell) => quote(cell.textContent.trim())).join(","))
    .join("\r\n") + "\r\n";
}

export function download(table, name) {
  const blob = new Blob(["\uFEFF", tableToCsv(table)], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
