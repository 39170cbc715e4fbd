/// What the demo chain sells and to whom: a fashion and lifestyle chain's departments — clothes,
/// shoes and accessories bought now and then, and socks, cosmetics and coffee that run out and are
/// bought again — each with the departments whose items go with its items and a price ladder;
/// and the names, towns and streets its shoppers are made of.
enum DemoCatalog {
    static let firstNames = ["Ana", "Lucía", "María", "Carmen", "Laura", "Marta", "Elena", "Paula", "Núria", "Sofía", "Javier", "David", "Jorge",
                             "Pablo", "Daniel", "Álvaro", "Sergio", "Marc", "Jordi", "Hugo", "Irene", "Alba", "Raúl", "Iker"]
    static let lastNames = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz",
                            "Moreno", "Álvarez", "Romero", "Navarro", "Torres", "Puig", "Ferrer", "Vidal", "Castro"]
    static let cities = [("Madrid", "28013"), ("Madrid", "28004"), ("Barcelona", "08007"), ("Barcelona", "08012"), ("Valencia", "46002"),
                         ("Sevilla", "41001"), ("Bilbao", "48001"), ("Zaragoza", "50001")]
    static let streets = ["Calle Mayor", "Gran Vía", "Calle de Alcalá", "Passeig de Gràcia", "Carrer de Balmes", "Avenida de la Constitución",
                          "Calle Colón", "Calle Larios", "Rúa do Franco", "Calle San Vicente"]
    static let reasons = ["too small", "too large", "changed my mind", "faulty"]

    /// The chain's stores and online channels, by channel code (`DemoSeed` creates them).
    static let madrid = "store-madrid-01"
    static let barcelona = "store-barcelona-01"
    static let web = "web"
    static let app = "app"
    static let callCenter = "call-center"

    static func isStore(_ channel: String) -> Bool { channel == madrid || channel == barcelona }

    /// The other of the two stores.
    static func otherStore(than store: String) -> String { store == madrid ? barcelona : madrid }

    /// A department: its SKU prefix, item names, the departments whose items go with its items,
    /// for a consumable the days one lasts, and its price ladder.
    struct Category: Sendable {
        let path: String
        let code: String
        let stems: [String]
        let complements: [String]
        /// Nil for what is bought once (a jumper); the days one lasts for what runs out.
        let lastsDays: Double?
        /// The cheapest of the department's five price points, and the step between them, in cents.
        let price: Int64
        let step: Int64

        var isConsumable: Bool { lastsDays != nil }
    }

    static let categories: [Category] = [
        Category(path: "women/knitwear", code: "KNW", stems: ["Merino jumper", "Cotton cardigan", "Cable knit", "Roll neck", "Wool jersey"],
                 complements: ["accessories/scarves", "women/denim"], lastsDays: nil, price: 3_995, step: 1_000),
        Category(path: "women/dresses", code: "DRS", stems: ["Linen dress", "Midi dress", "Wrap dress", "Shirt dress"],
                 complements: ["women/shoes", "accessories/bags"], lastsDays: nil, price: 4_995, step: 1_000),
        Category(path: "women/denim", code: "DNM", stems: ["Slim jeans", "Wide jeans", "Denim skirt", "Straight jeans"],
                 complements: ["women/knitwear", "women/shoes"], lastsDays: nil, price: 3_995, step: 500),
        Category(path: "women/shoes", code: "WSH", stems: ["Ankle boots", "Ballet flats", "Heeled sandals", "White trainers"],
                 complements: ["accessories/bags"], lastsDays: nil, price: 5_995, step: 1_500),
        Category(path: "men/shirts", code: "MSH", stems: ["Oxford shirt", "Linen shirt", "Flannel shirt", "Polo shirt"],
                 complements: ["men/trousers"], lastsDays: nil, price: 2_995, step: 500),
        Category(path: "men/trousers", code: "MTR", stems: ["Chinos", "Cargo trousers", "Suit trousers", "Joggers"],
                 complements: ["men/shoes", "men/shirts"], lastsDays: nil, price: 3_995, step: 500),
        Category(path: "men/shoes", code: "MSO", stems: ["Leather sneakers", "Derby shoes", "Loafers", "Chelsea boots"],
                 complements: ["men/trousers", "underwear/socks"], lastsDays: nil, price: 6_995, step: 1_500),
        Category(path: "accessories/bags", code: "BAG", stems: ["Tote bag", "Crossbody bag", "Backpack", "Clutch"],
                 complements: ["women/dresses"], lastsDays: nil, price: 2_995, step: 1_000),
        Category(path: "accessories/scarves", code: "SCF", stems: ["Wool scarf", "Silk scarf", "Beanie", "Gloves"],
                 complements: ["women/knitwear"], lastsDays: nil, price: 1_295, step: 400),
        Category(path: "kids/clothing", code: "KID", stems: ["Basic tee", "Pyjamas", "Hoodie", "Leggings"],
                 complements: ["kids/clothing"], lastsDays: nil, price: 795, step: 300),
        Category(path: "home/kitchen", code: "KIT", stems: ["Coffee mug", "French press", "Milk frother", "Tea towel"],
                 complements: ["grocery/coffee"], lastsDays: nil, price: 995, step: 500),
        Category(path: "underwear/socks", code: "SOC", stems: ["Cotton socks 3-pack", "Ankle socks 5-pack", "Wool socks", "Tights"],
                 complements: ["men/shoes"], lastsDays: 60, price: 795, step: 300),
        Category(path: "beauty/skincare", code: "SKN", stems: ["Face cream", "Cleanser", "Sun cream", "Serum"],
                 complements: ["beauty/haircare"], lastsDays: 42, price: 995, step: 500),
        Category(path: "beauty/haircare", code: "HAI", stems: ["Shampoo", "Conditioner", "Hair mask"],
                 complements: ["beauty/skincare"], lastsDays: 35, price: 595, step: 200),
        Category(path: "grocery/coffee", code: "COF", stems: ["Ground coffee", "Coffee beans", "Espresso capsules", "Decaf capsules"],
                 complements: ["home/kitchen"], lastsDays: 18, price: 495, step: 150),
    ]

    /// Items per department: 150 SKUs in all, a long tail in each.
    static let itemsPerCategory = 10
    /// Looks (classic, sporty…) that fashion items come in; shoppers keep mostly to theirs.
    static let styles = 4
    static let colours = ["navy", "black", "ecru", "grey", "camel", "green", "red", "blue", "white", "pink", "olive", "sand"]
    static let packs = ["", "large", "sensitive", "family pack", "refill", "travel size", "organic", "value pack"]

    /// How busy each month is for fashion, January first: the January and July sales, Black
    /// Friday and Christmas up, February down. Staples run out whatever the month.
    static let season: [Double] = [1.0, 0.55, 0.75, 0.8, 0.85, 0.9, 1.25, 0.8, 0.85, 0.9, 1.3, 1.6]
    static let peakSeason = 1.6
}
