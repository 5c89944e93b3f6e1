package scale

// Words that synthetic names are made of: company-like, from several
// languages, some with accents so that folding matters.
var (
	// syllables make up coined words ("Kavéron", "Brüsatel"): the part of a
	// company's name that sets it apart. Two syllables give a few thousand
	// words shared by a few hundred names each, three give a quarter of a
	// million nearly unique ones, as in a real directory.
	syllables = []string{
		"ka", "vé", "ron", "lin", "dor", "mar", "tes", "qui", "bel", "sa", "tor", "ni", "wen", "hal", "gri", "pel",
		"zu", "fa", "lum", "ber", "so", "ria", "ten", "vik", "ol", "mo", "sta", "ren", "gø", "lé", "brü", "ña",
		"ar", "el", "is", "on", "ut", "ex", "al", "in", "um", "ox", "dra", "ko", "pri", "sen", "tal", "vo",
		"ja", "rö", "mi", "nex", "cor", "ly", "ta", "ve", "zan", "fi", "gå", "hu", "plo", "quo",
	}
	// places open some names ("Zürich Kavéron AG").
	places = []string{
		"Zürich", "Nordlicht", "Müller", "Société", "Åkerlund", "Ørsted", "Bergström", "Jönköping",
		"São Paulo", "Łódź", "Kraków", "Málaga", "Córdoba", "Genève", "Besançon", "Würzburg",
		"Düsseldorf", "Čapek", "Dvořák", "Håkansson", "Ibáñez", "Muñoz", "Gödel", "Fjällräven",
		"Acme", "Globex", "Initech", "Northwind", "Contoso", "Fabrikam", "Wayne", "Stark",
		"Tyrell", "Cyberdyne", "Soylent", "Umbrella", "Hooli", "Pied Piper", "Vandelay", "Wonka",
		"Aurora", "Borealis", "Cascade", "Delta", "Everest", "Falcon", "Granite", "Harbor",
		"Iris", "Jupiter", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orion", "Pinnacle",
		"Quartz", "Redwood", "Summit", "Tundra", "Unity", "Vertex", "Willow", "Xenon",
		"Yukon", "Zenith", "Alpenglühen", "Bodensee", "Schwarzwald", "Rheinland", "Elbtal", "Donau",
		"Bayern", "Sachsen", "Thüringen", "Westfalen", "Friesland", "Allgäu", "Tirol", "Kärnten",
		"Steiermark", "Salzburg", "Luzern", "Graubünden", "Valais", "Ticino", "Lémanique", "Jura",
		"Provence", "Bretagne", "Normandie", "Alsace", "Lorraine", "Picardie", "Occitanie", "Aquitaine",
		"Bourgogne", "Champagne", "Savoie", "Dauphiné", "Auvergne", "Limousin", "Vendée", "Côte d'Azur",
		"Andalucía", "Cataluña", "Galicia", "Castilla", "Aragón", "Navarra", "Asturias", "Cantabria",
		"Toscana", "Lombardia", "Piemonte", "Veneto", "Liguria", "Umbria", "Sicilia", "Sardegna",
		"Algarve", "Alentejo", "Minho", "Douro", "Lisboa", "Porto", "Coimbra", "Braga",
		"Skåne", "Göta", "Norrland", "Dalarna", "Värmland", "Småland", "Uppsala", "Örebro",
		"Bergen", "Tromsø", "Ålesund", "Stavanger", "Trondheim", "Bodø", "Drammen", "Lillehammer",
		"Helsinki", "Tampere", "Turku", "Oulu", "Espoo", "Vantaa", "Jyväskylä", "Kuopio",
		"Aarhus", "Odense", "Aalborg", "Esbjerg", "Roskilde", "Kolding", "Vejle", "Horsens",
		"Gdańsk", "Poznań", "Wrocław", "Szczecin", "Lublin", "Katowice", "Białystok", "Toruń",
		"Brno", "Ostrava", "Plzeň", "Olomouc", "Liberec", "Zlín", "Pardubice", "Jihlava",
		"Győr", "Pécs", "Szeged", "Debrecen", "Miskolc", "Sopron", "Eger", "Kecskemét",
		"Cluj", "Iași", "Timișoara", "Brașov", "Constanța", "Sibiu", "Oradea", "Craiova",
		"Atlas", "Beacon", "Compass", "Dynamo", "Ember", "Frontier", "Galaxy", "Horizon",
		"Insight", "Juniper", "Keystone", "Lighthouse", "Monarch", "Nova", "Oasis", "Phoenix",
		"Quest", "Radiant", "Sierra", "Titan", "Ultra", "Vanguard", "Westwind", "Apex",
		"Blue Ridge", "Crescent", "Driftwood", "Evergreen", "Foxglove", "Golden Gate", "Highland", "Ironwood",
		"Jade", "Kingfisher", "Lakeside", "Maple", "Northstar", "Oakridge", "Pacific", "Riverbend",
		"Silverline", "Trident", "Upland", "Valley", "Whitestone", "Yellowstone", "Zephyr", "Amber",
		"Brightwater", "Clearview", "Deepwater", "Eastgate", "Fairview", "Greenfield", "Hillcrest", "Islington",
		"Kensington", "Lancaster", "Manchester", "Newcastle", "Oxford", "Plymouth", "Richmond", "Sheffield",
		"Tamworth", "Wellington", "York", "Ashford", "Bristol", "Cambridge", "Dorchester", "Exeter",
	}
	// industries follow a coined word ("Kavéron Logistik GmbH").
	industries = []string{
		"Versicherung", "Logistik", "Systems", "Software", "Networks", "Bank", "Holdings", "Energie",
		"Solutions", "Consulting", "Technologies", "Pharma", "Foods", "Motors", "Retail", "Telecom",
		"Data", "Cloud", "Security", "Analytics", "Healthcare", "Industries", "Media", "Capital",
		"Transport", "Chemie", "Bau", "Maschinenbau", "Électricité", "Assurances", "Télécom", "Ingeniería",
		"Construcciones", "Alimentación", "Brauerei", "Stadtwerke", "Kliniken", "Immobilien", "Verlag", "Elektronik",
		"Automation", "Robotics", "Aerospace", "Marine", "Shipping", "Airlines", "Railways", "Mining",
		"Steel", "Textiles", "Furniture", "Hotels", "Resorts", "Gaming", "Studios", "Publishing",
		"Partners", "Associates", "Group", "Services", "Labs", "Ventures", "Dynamics", "Innovations",
		"Biotech", "Diagnostics", "Medical", "Dental", "Optics", "Photonics", "Semiconductors", "Materials",
		"Papier", "Glas", "Keramik", "Möbel", "Schuhe", "Uhren", "Käserei", "Bäckerei",
	}
	suffixes = []string{
		"AG", "GmbH", "SA", "SAS", "Ltd", "Inc.", "LLC", "S.p.A.", "B.V.", "AB", "Oy", "A/S", "S.L.", "Corp.", "plc", "KG", "",
	}
	// qualifiers set branches of one company apart; most names have none.
	qualifiers = []string{
		"", "", "", "", "", "", "", "", "", "", "", "",
		"Nord", "Süd", "International", "Europe", "Schweiz", "Österreich", "France", "Iberia",
	}
	tlds = []string{"com", "de", "ch", "at", "fr", "es", "it", "se", "no", "fi", "dk", "pl", "cz", "nl", "co.uk", "example"}

	firstNames = []string{
		"Ada", "Björn", "Chloé", "Dagmar", "Émile", "Frida", "Günther", "Hélène", "Ingrid", "József",
		"Karl", "Léa", "Mårten", "Noémie", "Øystein", "Paweł", "Quentin", "Renée", "Søren", "Tomáš",
		"Ulrike", "Václav", "Wiebke", "Xavier", "Yannick", "Zoë", "Anna", "Ben", "Clara", "David",
		"Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Kira", "Lukas", "Mia", "Noah",
	}
	lastNames = []string{
		"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
		"Dubois", "Lefèvre", "Moreau", "Laurent", "García", "Martínez", "López", "Sánchez", "Rossi", "Russo",
		"Andersson", "Johansson", "Karlsson", "Nielsen", "Jensen", "Hansen", "Kowalski", "Nowak", "Novák", "Svoboda",
		"Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright",
	}
	virtualAccounts = []string{"EMEA", "Americas", "APJC", "Engineering", "Sales", "Lab", "Production", "Finance"}
)
