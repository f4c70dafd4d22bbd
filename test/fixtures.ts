// Small hand-written documents on distinct topics, so a query has one right answer.
export const DOCS = {
  bread: {
    title: 'Baking sourdough bread',
    contentType: 'text/markdown',
    content:
      '# Sourdough\n\nA sourdough starter is flour and water fermented by wild yeast and lactic acid bacteria.\n\n' +
      '## Feeding the starter\n\nFeed the starter every day with equal weights of flour and water so the yeast stays active.\n\n' +
      '## Baking\n\nBake the loaf in a preheated Dutch oven at 250 °C; remove the lid after twenty minutes for a dark crust.',
    metadata: { topic: 'cooking', lang: 'en' },
  },
  bikes: {
    title: 'Fixing a flat bicycle tyre',
    contentType: 'text/plain',
    content:
      'To repair a puncture, remove the wheel, lever the tyre off the rim and pull out the inner tube.\n\n' +
      'Find the hole by pumping air into the tube and listening for the hiss, then roughen the area and apply a patch.\n\n' +
      'Refit the tube, seat the tyre bead evenly and inflate to the pressure printed on the sidewall.',
    metadata: { topic: 'cycling', lang: 'en' },
  },
  tides: {
    title: 'Why the sea has tides',
    contentType: 'text/html',
    content:
      '<html><head><title>Tides</title><style>p{}</style></head><body><h1>Tides</h1>' +
      '<p>Tides are caused mainly by the gravitational pull of the Moon on the oceans, with a smaller contribution from the Sun.</p>' +
      '<h2>Spring tides</h2><p>When the Sun and Moon line up, their pulls add together and produce spring tides with the largest range.</p></body></html>',
    metadata: { topic: 'science', lang: 'en' },
  },
} as const;
