import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { PDFDocument, PDFHexString, StandardFonts } from 'pdf-lib';

// Real PDF and Word files made by the tests (pdf-lib, docx), so no binary fixture is committed and
// each case says what its file holds.

/** A PDF with a text layer: one page per entry, each a list of lines drawn top to bottom. */
export async function makePdf(
  pages: readonly (readonly string[])[],
  opts: { title?: string } = {},
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  if (opts.title) doc.setTitle(opts.title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([420, 600]);
    lines.forEach((line, i) => page.drawText(line, { x: 36, y: 560 - i * 16, size: 10, font }));
  }
  return doc.save();
}

/**
 * A password-protected PDF: the Standard security handler's /Encrypt dictionary with owner and
 * user hashes that the empty password does not open (pdf-lib cannot encrypt, but readers refuse
 * before decrypting anything, exactly as for a file saved with a password).
 */
export async function makeEncryptedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.addPage().drawText('Confidential figures', { x: 50, y: 500, font: await doc.embedFont(StandardFonts.Helvetica) });
  const bytes = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + seed) & 255)).toString('hex');
  const encrypt = doc.context.obj({
    Filter: 'Standard',
    V: 1,
    R: 2,
    O: PDFHexString.of(bytes(32, 11)),
    U: PDFHexString.of(bytes(32, 29)),
    P: -4,
  });
  doc.context.trailerInfo.Encrypt = doc.context.register(encrypt);
  doc.context.trailerInfo.ID = doc.context.obj([PDFHexString.of(bytes(16, 3)), PDFHexString.of(bytes(16, 3))]);
  return doc.save({ useObjectStreams: false });
}

/** A scan: pages with drawings only, no text layer. */
export async function makeImageOnlyPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  for (let i = 0; i < 2; i++) doc.addPage().drawRectangle({ x: 40, y: 40, width: 300, height: 400, borderWidth: 2 });
  return doc.save();
}

/** A Word file with a title heading, two sections and a table. */
export async function makeDocx(): Promise<Uint8Array> {
  const cell = (text: string) => new TableCell({ children: [new Paragraph(text)] });
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Greenhouse Handbook', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('Tomatoes need warm nights and steady watering to set fruit.')] }),
          new Paragraph({ text: 'Ventilation', heading: HeadingLevel.HEADING_2 }),
          new Paragraph(
            'Open the roof vents when the air inside passes twenty-six degrees, or the pollen turns sterile.',
          ),
          new Paragraph({ text: 'Planting calendar', heading: HeadingLevel.HEADING_2 }),
          new Table({
            rows: [
              new TableRow({ children: [cell('Crop'), cell('Sow'), cell('Harvest')] }),
              new TableRow({ children: [cell('Cucumber'), cell('March'), cell('July')] }),
              new TableRow({ children: [cell('Aubergine'), cell('February'), cell('August')] }),
            ],
          }),
          new Paragraph({ text: 'End of handbook.', alignment: AlignmentType.RIGHT }),
        ],
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}
