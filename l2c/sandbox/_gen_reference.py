"""Small fixed vocabularies the demo-org generator draws names, places and products from."""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Amelia", "Hiro",
    "Isabella", "Arjun", "Chloe", "Kenji", "Grace", "Diego", "Hannah", "Omar", "Lea", "Felix", "Priya",
    "Jonas", "Zoe", "Rafael", "Nora", "Samuel", "Aisha", "Victor", "Clara", "Mei", "Daniel", "Ingrid",
    "Tomas", "Yara", "Pedro", "Elena", "Kwame", "Sara",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Muller", "Rossi", "Tanaka", "Silva", "Kim", "Nguyen", "Brown", "Schmidt",
    "Dubois", "Kowalski", "Jensen", "Okafor", "Patel", "Lopez", "Wang", "Novak", "Andersen", "Costa",
    "Fischer", "Moreau", "Sato", "Singh", "Larsen", "Martin", "Hernandez", "Weber", "Chen", "Ivanova",
    "Murphy", "Ferreira", "Yilmaz", "Berg", "Nakamura", "Clarke", "Romero", "Haddad", "Olsen",
)
COMPANY_PREFIXES = (
    "Acme", "Globex", "Initrode", "Umbrella", "Stark", "Wayne", "Vandelay", "Hooli", "Pied Piper", "Soylent",
    "Cyberdyne", "Tyrell", "Wonka", "Gringotts", "Oscorp", "Nakatomi", "Aperture", "Massive", "Dunder",
    "Blue Sun", "Monarch", "Virtucon", "Paper Street", "Sterling", "Northwind", "Contoso", "Fabrikam",
    "Tailspin", "Litware", "Adventure", "Alpine", "Coho", "Fourth Coffee", "Lucerne", "Margie", "Proseware",
    "Trey", "Wingtip", "Woodgrove", "Humongous",
)
COMPANY_CORES = (
    "Systems", "Industries", "Logistics", "Health", "Energy", "Foods", "Analytics", "Robotics", "Media",
    "Capital", "Motors", "Pharma", "Telecom", "Retail", "Labs", "Networks", "Materials", "Aerospace",
    "Holdings", "Partners",
)
COMPANY_SUFFIXES = ("Inc.", "Ltd", "GmbH", "S.A.", "LLC", "plc", "Corp.", "AG", "Pty Ltd", "BV")
STREETS = ("Main St", "Market St", "High St", "Park Ave", "Station Rd", "King St", "Harbour Rd", "Lake Dr")

#: Per sales region: (city, state, country) triples.
REGION_PLACES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "North America": (
        ("New York", "NY", "United States"), ("San Francisco", "CA", "United States"),
        ("Chicago", "IL", "United States"), ("Austin", "TX", "United States"), ("Toronto", "ON", "Canada"),
    ),
    "EMEA": (
        ("London", "", "United Kingdom"), ("Berlin", "BE", "Germany"), ("Paris", "", "France"),
        ("Madrid", "", "Spain"), ("Amsterdam", "NH", "Netherlands"), ("Dubai", "", "United Arab Emirates"),
    ),
    "APAC": (
        ("Singapore", "", "Singapore"), ("Sydney", "NSW", "Australia"), ("Tokyo", "", "Japan"),
        ("Bangalore", "KA", "India"), ("Seoul", "", "South Korea"),
    ),
    "LATAM": (
        ("Sao Paulo", "SP", "Brazil"), ("Mexico City", "CDMX", "Mexico"), ("Bogota", "", "Colombia"),
        ("Santiago", "", "Chile"), ("Buenos Aires", "", "Argentina"),
    ),
}

#: (product name, family, list price)
PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("Cloud Analytics Suite", "Software", 12000.0), ("CRM Platform Licence", "Software", 6000.0),
    ("Data Integration Hub", "Software", 18000.0), ("Security Gateway", "Software", 9000.0),
    ("Mobile Field App", "Software", 2500.0), ("AI Forecasting Add-on", "Software", 7500.0),
    ("Edge Server X1", "Hardware", 15000.0), ("Storage Array S3", "Hardware", 24000.0),
    ("Network Switch 48p", "Hardware", 4500.0), ("Rugged Tablet", "Hardware", 1200.0),
    ("IoT Sensor Kit", "Hardware", 800.0), ("Backup Appliance", "Hardware", 11000.0),
    ("Implementation Package", "Services", 20000.0), ("Data Migration", "Services", 9500.0),
    ("Training Day", "Services", 2000.0), ("Solution Design Workshop", "Services", 5000.0),
    ("Custom Integration", "Services", 14000.0), ("Managed Service Month", "Services", 3500.0),
    ("Premium Support", "Support", 8000.0), ("Standard Support", "Support", 3000.0),
    ("24x7 Support Upgrade", "Support", 5500.0), ("Dedicated TAM", "Support", 16000.0),
    ("Extended Warranty", "Support", 1500.0), ("Health Check", "Support", 2500.0),
)

TASK_SUBJECTS = ("Call", "Send proposal", "Follow up", "Email", "Prepare demo", "Send contract draft")
EVENT_SUBJECTS = ("Discovery meeting", "Product demo", "Negotiation meeting", "Executive briefing")
SIGNER_TITLES = ("CFO", "CEO", "VP Procurement", "Head of IT", "COO")
NON_STANDARD_TERMS = (
    "Non-standard: payment terms net 90",
    "Non-standard: uncapped liability",
    "Non-standard: termination for convenience with 30 days notice",
    "Non-standard: most-favoured-customer pricing",
)
APPROVAL_COMMENTS = ("Approved, strategic account", "Approved for quarter close", "OK", "Discount too high")
