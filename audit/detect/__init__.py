"""Detection: where the canary card went and whether it was allowed to go there (pure).

Read top-down; each module uses only the ones below it:

    policy     who may receive card data, the rules, the findings (`judge`)
    sightings  every place in the evidence a card field was seen: channel, host, encoding
    wire       the wire sweep: every plaintext byte sent over each connection, searched
    match      the card in one payload, in whatever encoding it left the page
    context    the CVC, expiry, name and postal code, counted only in card context
    decode     the decoders tried around a candidate region
    needles    the literal and regex forms of the card, scanned in one pass
"""
