"""Write the sample host offers of data/companies/ (de.csv, pl.csv, uk.csv).

The companies below are fictitious: real cities and street names, invented
firms, tutors and e-mail domains under `.example` (RFC 2606), so that nothing
is ever mailed to a real person. The CSV files are the committed data; this
script only keeps them consistent (one company, several offers) and can be
re-run after editing the tables: `python scripts/make_sample_offers.py`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

OUT_DIR = Path(__file__).resolve().parent.parent / "data" / "companies"

COLUMNS = (
    "offer_id", "partner", "company_id", "company_name", "country", "city", "address",
    "contact_name", "contact_email", "sector", "trades", "places", "start_date", "end_date",
    "language_requirement", "accepts_minors",
)  # fmt: skip

# Placement periods of the 2027 programme: Monday to Friday, 4 to 8 weeks.
PERIODS = {
    "S4a": ("2027-05-03", "2027-05-28"),
    "S6a": ("2027-05-03", "2027-06-11"),
    "S6b": ("2027-05-10", "2027-06-18"),
    "S6c": ("2027-05-17", "2027-06-25"),
    "S8a": ("2027-05-03", "2027-06-25"),
    "S6d": ("2027-05-31", "2027-07-09"),
    "S6e": ("2027-06-07", "2027-07-16"),
    "S8b": ("2027-05-24", "2027-07-16"),
    "S4b": ("2027-06-14", "2027-07-09"),
    "A4": ("2027-09-13", "2027-10-08"),
    "A6a": ("2027-09-13", "2027-10-22"),
    "A6b": ("2027-09-20", "2027-10-29"),
    "A8": ("2027-09-06", "2027-10-29"),
}


class Company(NamedTuple):
    """A host company and its offers: (period, places, trades or "" for the company's own)."""

    company_id: str
    name: str
    city: str
    address: str
    contact_name: str
    contact_email: str
    sector: str
    trades: str
    language_requirement: str
    accepts_minors: bool
    offers: tuple[tuple[str, int, str], ...]


P = "production"
S = "services"

GERMANY = (
    Company("DE-C01", "Bäckerei Hoffmann GmbH", "Leipzig",
            "Karl-Liebknecht-Straße 12, 04107 Leipzig", "Katrin Hoffmann",
            "k.hoffmann@baeckerei-hoffmann.example", P, "boulangerie", "", True,
            (("S6a", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("DE-C02", "Hotel Am Neumarkt Dresden GmbH", "Dresden",
            "Neumarkt 8, 01067 Dresden", "Stefanie Richter",
            "s.richter@hotel-am-neumarkt.example", S, "hotellerie;csr;cuisine", "de:A2|en:B1",
            True,
            (("S8a", 2, "hotellerie;csr"), ("S6d", 2, "cuisine"), ("A6a", 2, ""))),
    Company("DE-C03", "Gasthaus Zum Goldenen Hirsch", "Freiburg im Breisgau",
            "Kaiser-Joseph-Straße 210, 79098 Freiburg im Breisgau", "Markus Baumann",
            "m.baumann@goldener-hirsch-freiburg.example", S, "cuisine;csr", "", True,
            (("S6a", 1, ""), ("S6e", 2, ""), ("A6b", 1, ""))),
    Company("DE-C04", "Modehaus Weber GmbH & Co. KG", "Köln",
            "Hohe Straße 52, 50667 Köln", "Nicole Weber",
            "n.weber@modehaus-weber.example", S, "commerce;accueil", "de:A2|en:B1", True,
            (("S6a", 2, ""), ("S6d", 1, ""), ("A6a", 1, ""))),
    Company("DE-C05", "Frischemarkt Schäfer e.K.", "Mainz",
            "Große Bleiche 15, 55116 Mainz", "Jürgen Schäfer",
            "j.schaefer@frischemarkt-schaefer.example", S, "commerce;logistique", "de:A2", True,
            (("S6b", 2, ""), ("S6e", 1, "commerce"), ("A4", 1, ""))),
    Company("DE-C06", "Spedition Krüger GmbH", "Hamburg",
            "Billstraße 80, 20539 Hamburg", "Sven Krüger",
            "s.krueger@spedition-krueger.example", S, "logistique;transport", "de:A2|en:B1",
            False,
            (("S8a", 2, "logistique"), ("S6d", 1, ""), ("A8", 2, "logistique"))),
    Company("DE-C07", "Seniorenresidenz Lindenhof gGmbH", "Saarbrücken",
            "Mainzer Straße 120, 66121 Saarbrücken", "Sabine Klein",
            "s.klein@lindenhof-saar.example", S, "assp", "de:A2|en:B1", True,
            (("S6a", 2, ""), ("S6d", 2, ""), ("A6a", 1, ""))),
    Company("DE-C08", "Friseursalon Haarwerk Becker", "Stuttgart",
            "Königstraße 28, 70173 Stuttgart", "Julia Becker",
            "j.becker@haarwerk-becker.example", S, "coiffure;esthetique", "", True,
            (("S6a", 1, ""), ("S6e", 1, "coiffure"), ("A6a", 1, ""))),
    Company("DE-C09", "Kosmetikstudio Schönfeld", "Leipzig",
            "Gottschedstraße 4, 04109 Leipzig", "Franziska Schönfeld",
            "f.schoenfeld@kosmetik-schoenfeld.example", S, "esthetique", "", True,
            (("S6c", 1, ""), ("A6b", 1, ""))),
    Company("DE-C10", "Steuerberatung Fischer & Partner mbB", "Leipzig",
            "Martin-Luther-Ring 3, 04109 Leipzig", "Andrea Fischer",
            "a.fischer@stb-fischer-partner.example", S, "agora;accueil", "de:A2|en:B1", False,
            (("S6b", 1, ""), ("A6a", 1, ""))),
    Company("DE-C11", "Rheinwacht Sicherheitsdienst GmbH", "Köln",
            "Venloer Straße 310, 50823 Köln", "Dirk Schmitz",
            "d.schmitz@rheinwacht.example", S, "securite", "de:A2", False,
            (("S6d", 2, ""), ("A6b", 1, ""))),
    Company("DE-C12", "Autohaus Schneider GmbH", "Stuttgart",
            "Heilbronner Straße 190, 70191 Stuttgart", "Thomas Schneider",
            "t.schneider@autohaus-schneider.example", P, "mv", "de:A2|en:B1", True,
            (("S8a", 2, ""), ("S6e", 2, ""), ("A6a", 1, ""))),
    Company("DE-C13", "Elektro Wagner GmbH", "Dresden",
            "Königsbrücker Straße 96, 01099 Dresden", "Uwe Wagner",
            "u.wagner@elektro-wagner.example", P, "melec", "", True,
            (("S6a", 2, ""), ("S6d", 1, ""), ("A8", 1, ""))),
    Company("DE-C14", "Neumann Präzisionstechnik GmbH", "Stuttgart",
            "Siemensstraße 40, 70469 Stuttgart", "Andreas Neumann",
            "a.neumann@neumann-praezision.example", P, "trpm;mspc", "de:A2|en:B1", True,
            (("S8b", 2, "trpm"), ("S6a", 1, "mspc"), ("A6a", 2, "*"))),
    Company("DE-C15", "Metallbau Richter GmbH", "Saarbrücken",
            "Untertürkheimer Straße 20, 66117 Saarbrücken", "Frank Richter",
            "f.richter@metallbau-richter.example", P, "chaudronnerie", "", True,
            (("S6b", 2, ""), ("A6b", 1, ""))),
    Company("DE-C16", "Braun Kunststofftechnik GmbH & Co. KG", "Freiburg im Breisgau",
            "Tullastraße 70, 79108 Freiburg im Breisgau", "Michael Braun",
            "m.braun@braun-kunststoff.example", P, "plasturgie;pilote_ligne", "de:A2|en:B1",
            True,
            (("S6c", 2, ""), ("A6a", 1, ""))),
    Company("DE-C17", "Bauunternehmung Zimmermann GmbH", "Mainz",
            "Hechtsheimer Straße 2, 55131 Mainz", "Holger Zimmermann",
            "h.zimmermann@zimmermann-bau.example", P, "batiment", "", False,
            (("S8a", 2, ""), ("S6e", 2, ""))),
    Company("DE-C18", "Schreinerei Koch", "Freiburg im Breisgau",
            "Habsburgerstraße 95, 79104 Freiburg im Breisgau", "Matthias Koch",
            "m.koch@schreinerei-koch.example", P, "menuiserie", "", True,
            (("S6a", 1, ""), ("A6a", 1, ""))),
    Company("DE-C19", "Hartmann Haustechnik GmbH", "Hamburg",
            "Süderstraße 198, 20537 Hamburg", "Jens Hartmann",
            "j.hartmann@hartmann-haustechnik.example", P, "iccer;melec", "de:A2|en:B1", True,
            (("S6a", 1, "iccer"), ("S6d", 2, ""), ("A6b", 1, ""))),
    Company("DE-C20", "Hanse Aero Components GmbH", "Hamburg",
            "Hein-Saß-Weg 30, 21129 Hamburg", "Birgit Lange",
            "b.lange@hanse-aero.example", P, "aeronautique;trpm", "de:A2|en:B1", False,
            (("S8a", 2, ""), ("A8", 1, ""))),
    Company("DE-C21", "Saar-Feinkost Jung GmbH", "Saarbrücken",
            "Dudweiler Landstraße 151, 66123 Saarbrücken", "Claudia Jung",
            "c.jung@saar-feinkost.example", P, "pilote_ligne;mspc", "", True,
            (("S6a", 2, ""), ("A6a", 1, ""))),
    Company("DE-C22", "Hausverwaltung Krause GmbH", "Mainz",
            "Rheinallee 88, 55120 Mainz", "Petra Krause",
            "p.krause@hausverwaltung-krause.example", S, "agora;accueil", "de:A2|en:B1", True,
            (("S6a", 1, ""), ("S6d", 1, "agora"), ("A6b", 1, ""))),
    Company("DE-C23", "Sporthaus Vogel GmbH", "Dresden",
            "Prager Straße 12, 01069 Dresden", "Jana Vogel",
            "j.vogel@sporthaus-vogel.example", S, "commerce", "", True,
            (("S6b", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("DE-C24", "Ambulanter Pflegedienst Schulze GmbH", "Leipzig",
            "Eisenbahnstraße 45, 04315 Leipzig", "Susanne Schulze",
            "s.schulze@pflegedienst-schulze.example", S, "assp", "", True,
            (("S6b", 2, ""), ("A6a", 1, ""))),
)  # fmt: skip

POLAND = (
    Company("PL-C01", "Piekarnia Wiśniewski s.c.", "Kraków",
            "ul. Długa 15, 31-147 Kraków", "Agnieszka Wiśniewska",
            "a.wisniewska@piekarnia-wisniewski.example", P, "boulangerie", "", True,
            (("S6a", 2, ""), ("S6d", 1, ""), ("A6a", 1, ""))),
    Company("PL-C02", "Zakład Mechaniczny Nowak Sp. z o.o.", "Kraków",
            "ul. Półłanki 64, 30-740 Kraków", "Jan Kowalski",
            "j.kowalski@nowak-mechanika.example", P, "trpm;mspc;chaudronnerie", "en:A2", True,
            (("S8a", 2, ""), ("S6e", 2, "trpm"), ("A6a", 1, "*"))),
    Company("PL-C03", "Hotel Pod Złotym Kluczem Sp. z o.o.", "Gdańsk",
            "ul. Długa 45, 80-827 Gdańsk", "Magdalena Zielińska",
            "m.zielinska@hotel-zloty-klucz.example", S, "hotellerie;csr;cuisine", "en:A2", True,
            (("S8a", 2, "hotellerie;csr"), ("S6e", 2, "cuisine"), ("A6a", 1, ""))),
    Company("PL-C04", "Restauracja Stary Młyn s.c.", "Wrocław",
            "ul. Świdnicka 30, 50-068 Wrocław", "Piotr Mazur",
            "p.mazur@stary-mlyn.example", S, "cuisine;csr", "pl:A1|en:A2", True,
            (("S6a", 2, ""), ("S4b", 1, "csr"), ("A6b", 1, ""))),
    Company("PL-C05", "Dom Handlowy Kwiatkowski Sp. z o.o.", "Poznań",
            "ul. Półwiejska 18, 61-888 Poznań", "Monika Kwiatkowska",
            "m.kwiatkowska@dh-kwiatkowski.example", S, "commerce;accueil", "en:A2", True,
            (("S6b", 2, ""), ("S6d", 1, ""), ("A6a", 1, ""))),
    Company("PL-C06", "Kaczmarek Logistyka Sp. z o.o.", "Poznań",
            "ul. Głogowska 120, 60-243 Poznań", "Tomasz Kaczmarek",
            "t.kaczmarek@kaczmarek-logistyka.example", S, "logistique;transport", "en:A2",
            False,
            (("S8a", 2, "logistique"), ("S6e", 1, ""), ("A6a", 2, ""))),
    Company("PL-C07", "Dom Seniora Pod Lipami Sp. z o.o.", "Łódź",
            "ul. Piotrkowska 120, 90-006 Łódź", "Ewa Jankowska",
            "e.jankowska@pod-lipami.example", S, "assp", "pl:A1|en:A2", True,
            (("S6a", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("PL-C08", "Studio Fryzur Lewandowska", "Katowice",
            "ul. Mariacka 12, 40-014 Katowice", "Justyna Lewandowska",
            "j.lewandowska@studio-lewandowska.example", S, "coiffure", "", True,
            (("S6c", 1, ""), ("A6b", 1, ""))),
    Company("PL-C09", "Instytut Urody Dąbrowska", "Wrocław",
            "ul. Oławska 9, 50-123 Wrocław", "Natalia Dąbrowska",
            "n.dabrowska@instytut-dabrowska.example", S, "esthetique;coiffure", "en:A2", True,
            (("S6a", 1, ""), ("S6d", 1, "esthetique"))),
    Company("PL-C10", "Biuro Rachunkowe Szymański i Wspólnicy Sp. k.", "Warszawa",
            "ul. Marszałkowska 87, 00-683 Warszawa", "Katarzyna Szymańska",
            "k.szymanska@br-szymanski.example", S, "agora;accueil", "en:B1", False,
            (("S6b", 1, ""), ("A6a", 1, ""))),
    Company("PL-C11", "Agencja Ochrony Wójcik Sp. z o.o.", "Gdańsk",
            "ul. Grunwaldzka 210, 80-266 Gdańsk", "Marek Wójcik",
            "m.wojcik@ochrona-wojcik.example", S, "securite", "en:A2", False,
            (("S6d", 1, ""), ("A6a", 1, ""))),
    Company("PL-C12", "Auto-Serwis Kowalczyk s.c.", "Łódź",
            "ul. Rokicińska 150, 92-412 Łódź", "Grzegorz Kowalczyk",
            "g.kowalczyk@autoserwis-kowalczyk.example", P, "mv", "", True,
            (("S6a", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("PL-C13", "Elektro-Instal Woźniak Sp. z o.o.", "Wrocław",
            "ul. Krakowska 180, 52-015 Wrocław", "Paweł Woźniak",
            "p.wozniak@elektro-wozniak.example", P, "melec;iccer", "en:A2", True,
            (("S8a", 2, ""), ("S6d", 1, "melec"), ("S6e", 1, "iccer"), ("A6b", 1, ""))),
    Company("PL-C14", "Aero-Tech Mielec Sp. z o.o.", "Mielec",
            "ul. Wojska Polskiego 3, 39-300 Mielec", "Rafał Stępień",
            "r.stepien@aerotech-mielec.example", P, "aeronautique;trpm", "en:B1", False,
            (("S8a", 2, ""), ("A8", 2, ""))),
    Company("PL-C15", "Pawlak Tworzywa Sztuczne Sp. z o.o.", "Bydgoszcz",
            "ul. Fordońska 120, 85-739 Bydgoszcz", "Michał Pawlak",
            "m.pawlak@pawlak-tworzywa.example", P, "plasturgie;pilote_ligne", "en:A2", True,
            (("S6c", 2, ""), ("A6a", 1, ""))),
    Company("PL-C16", "Przedsiębiorstwo Budowlane Mazurek Sp. z o.o.", "Katowice",
            "ul. Roździeńskiego 188, 40-203 Katowice", "Andrzej Mazurek",
            "a.mazurek@pb-mazurek.example", P, "batiment", "", False,
            (("S8a", 2, ""), ("S6e", 1, ""))),
    Company("PL-C17", "Zakład Stolarski Grabowski", "Gdańsk",
            "ul. Marynarki Polskiej 100, 80-557 Gdańsk", "Krzysztof Grabowski",
            "k.grabowski@stolarnia-grabowski.example", P, "menuiserie", "", True,
            (("S6b", 1, ""), ("A6a", 1, ""))),
    Company("PL-C18", "Przetwórnia Owoców Sadowski S.A.", "Lublin",
            "ul. Mełgiewska 70, 20-234 Lublin", "Beata Sadowska",
            "b.sadowska@sadowski-przetwornia.example", P, "pilote_ligne;mspc", "en:A2", True,
            (("S6d", 2, ""), ("S6a", 1, "*"), ("A6a", 1, ""))),
    Company("PL-C19", "Zawadzki Nieruchomości Sp. z o.o.", "Poznań",
            "ul. Gdyńska 31, 61-016 Poznań", "Dorota Zawadzka",
            "d.zawadzka@zawadzki-nieruchomosci.example", S, "agora;accueil", "en:A2", True,
            (("S6a", 2, ""), ("S6e", 1, "agora"), ("A6a", 1, ""))),
    Company("PL-C20", "Księgarnia Pod Globusem s.c.", "Kraków",
            "ul. Karmelicka 20, 31-128 Kraków", "Marta Lis",
            "m.lis@pod-globusem.example", S, "commerce", "", True,
            (("S6a", 1, ""), ("S6d", 1, ""), ("A6a", 1, ""))),
    Company("PL-C21", "Sikora Centrum Dystrybucji Sp. z o.o.", "Łódź",
            "ul. Brzezińska 27, 92-103 Łódź", "Łukasz Sikora",
            "l.sikora@sikora-dystrybucja.example", S, "logistique;commerce", "en:A2", True,
            (("S8a", 2, "logistique"), ("S6e", 1, ""), ("A6a", 1, "logistique"))),
)  # fmt: skip

UNITED_KINGDOM = (
    Company("UK-C01", "Riverside Hotel Ltd", "Manchester",
            "22 Deansgate, Manchester M3 2BW", "Rachel Thompson",
            "r.thompson@riverside-hotel-manchester.example", S, "hotellerie;csr;cuisine",
            "en:B1", False,
            (("S8a", 2, "hotellerie;csr"), ("S6e", 2, "cuisine"), ("A6a", 2, ""))),
    Company("UK-C02", "The Copper Kettle Brasserie Ltd", "Leeds",
            "14 Briggate, Leeds LS1 6HD", "Gareth Evans",
            "g.evans@copperkettle-leeds.example", S, "cuisine;csr", "en:A2", False,
            (("S6a", 2, ""), ("A6b", 1, ""))),
    Company("UK-C03", "Hartley & Sons Department Store Ltd", "Birmingham",
            "120 Corporation Street, Birmingham B4 6SX", "Claire Hartley",
            "c.hartley@hartleys-birmingham.example", S, "commerce;accueil", "en:B1", False,
            (("S6b", 2, ""), ("S4a", 1, "accueil"), ("S6d", 1, ""), ("A6a", 1, ""))),
    Company("UK-C04", "Avon Freight Services Ltd", "Bristol",
            "Unit 7, Avonmouth Way, Bristol BS11 9YA", "Paul Roberts",
            "p.roberts@avonfreight.example", S, "logistique;transport", "en:A2", False,
            (("S8a", 2, "logistique"), ("A8", 1, ""))),
    Company("UK-C05", "Meadowbank Care Homes Ltd", "Glasgow",
            "45 Great Western Road, Glasgow G4 9AW", "Fiona MacDonald",
            "f.macdonald@meadowbank-care.example", S, "assp", "en:B1", False,
            (("S6a", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("UK-C06", "Fringe Hair & Beauty Ltd", "Cardiff",
            "31 St Mary Street, Cardiff CF10 1AB", "Siân Jones",
            "s.jones@fringe-cardiff.example", S, "coiffure;esthetique", "en:A2", False,
            (("S6c", 1, ""), ("A6b", 1, ""))),
    Company("UK-C07", "Whitmore & Patel Accountants LLP", "Leeds",
            "3 Park Square East, Leeds LS1 2NE", "Priya Patel",
            "p.patel@whitmore-patel.example", S, "agora;accueil", "en:B1", False,
            (("S6b", 1, ""), ("A6a", 1, ""))),
    Company("UK-C08", "Sentinel Event Security Ltd", "Manchester",
            "Unit 12, Trafford Park Road, Manchester M17 1HH", "Craig Wilson",
            "c.wilson@sentinel-security.example", S, "securite", "en:B1", False,
            (("S6d", 1, ""), ("A6b", 1, ""))),
    Company("UK-C09", "Rose Street Spa Ltd", "Edinburgh",
            "42 Rose Street, Edinburgh EH2 2NH", "Kirsty Campbell",
            "k.campbell@rosestreet-spa.example", S, "esthetique", "en:A2", False,
            (("S6a", 1, ""), ("A6a", 1, ""))),
    Company("UK-C10", "Pennine Motors Ltd", "Sheffield",
            "Unit 5, Attercliffe Road, Sheffield S9 3QS", "Mark Walker",
            "m.walker@pennine-motors.example", P, "mv", "en:A2", False,
            (("S8a", 2, ""), ("S6e", 1, ""), ("A6a", 1, ""))),
    Company("UK-C11", "Clyde Electrical Contractors Ltd", "Glasgow",
            "Unit 3, Hillington Park, Glasgow G52 4BL", "Callum Stewart",
            "c.stewart@clyde-electrical.example", P, "melec;iccer", "en:A2", False,
            (("S6a", 2, ""), ("A6b", 1, ""))),
    Company("UK-C12", "Filton Aerostructures Ltd", "Bristol",
            "Unit 3, Station Road, Filton, Bristol BS34 7JW", "Daniel Hughes",
            "d.hughes@filton-aerostructures.example", P, "aeronautique;trpm", "en:B1", False,
            (("S8a", 2, ""), ("A8", 2, ""))),
    Company("UK-C13", "Midland Precision Engineering Ltd", "Birmingham",
            "Unit 9, Tyburn Road, Birmingham B24 8HJ", "Stephen Clarke",
            "s.clarke@midland-precision.example", P, "trpm;mspc;chaudronnerie", "en:A2", False,
            (("S6b", 2, ""), ("S6e", 1, "mspc"), ("A6a", 1, "*"))),
    Company("UK-C14", "Tyne Steel Fabrications Ltd", "Newcastle upon Tyne",
            "Unit 6, Shields Road, Newcastle upon Tyne NE6 2YL", "Liam Robson",
            "l.robson@tyne-steelfab.example", P, "chaudronnerie", "en:A2", False,
            (("S6d", 1, ""), ("A6a", 1, ""))),
    Company("UK-C15", "Oakwood Joinery Ltd", "Cardiff",
            "Unit 2, Penarth Road, Cardiff CF11 8TW", "Rhys Morgan",
            "r.morgan@oakwood-joinery.example", P, "menuiserie", "en:A2", False,
            (("S6a", 1, ""), ("A6b", 1, ""))),
    Company("UK-C16", "Mersey Builders Ltd", "Liverpool",
            "Unit 14, Stanley Road, Liverpool L20 3EZ", "James Byrne",
            "j.byrne@mersey-builders.example", P, "batiment", "en:A2", False,
            (("S8b", 2, ""), ("A6a", 1, ""))),
    Company("UK-C17", "Baker & Crumb Artisan Bakery Ltd", "Bristol",
            "45 Gloucester Road, Bristol BS7 8AD", "Emma Bennett",
            "e.bennett@bakerandcrumb.example", P, "boulangerie", "en:A2", False,
            (("S6a", 1, ""), ("S6e", 1, ""))),
    Company("UK-C18", "Trent Plastics Ltd", "Nottingham",
            "Unit 11, Lenton Lane, Nottingham NG7 2PW", "Imran Khan",
            "i.khan@trent-plastics.example", P, "plasturgie;pilote_ligne", "en:A2", False,
            (("S6c", 2, ""), ("A6a", 1, ""))),
    Company("UK-C19", "Quayside Shopping Centre Management Ltd", "Newcastle upon Tyne",
            "60 Grey Street, Newcastle upon Tyne NE1 6AF", "Sarah Armstrong",
            "s.armstrong@quayside-centre.example", S, "*", "en:B1", False,
            (("S6b", 2, ""), ("A6a", 1, ""))),
)  # fmt: skip

FILES = (
    ("de.csv", "OFAJ", "DE", GERMANY),
    ("pl.csv", "ABC_WIEDZY", "PL", POLAND),
    ("uk.csv", "BRITISH_COUNCIL", "UK", UNITED_KINGDOM),
)


def offer_rows(partner: str, country: str, companies: tuple[Company, ...]) -> list[list[str]]:
    """Return one CSV row per offer, numbered in company order (DE-001, DE-002, …)."""
    rows: list[list[str]] = []
    for company in companies:
        for period, places, trades in company.offers:
            start, end = PERIODS[period]
            rows.append(
                [
                    f"{country}-{len(rows) + 1:03d}",
                    partner,
                    company.company_id,
                    company.name,
                    country,
                    company.city,
                    company.address,
                    company.contact_name,
                    company.contact_email,
                    company.sector,
                    trades or company.trades,
                    str(places),
                    start,
                    end,
                    company.language_requirement,
                    "true" if company.accepts_minors else "false",
                ]
            )
    return rows


def main() -> None:
    """Write the three offer files, overwriting them."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for file_name, partner, country, companies in FILES:
        with (OUT_DIR / file_name).open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(offer_rows(partner, country, companies))


if __name__ == "__main__":
    main()
