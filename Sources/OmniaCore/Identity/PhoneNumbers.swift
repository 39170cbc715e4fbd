/// Phone numbers to E.164 (`+34912345678`): the form in which one number has one spelling.
///
/// International input (`+…` or `00…`) keeps its country code. National input takes the tenant's
/// default country: its calling code is prepended after dropping the national trunk prefix (`0` in
/// most countries, `1` or nothing in the North American plan, `8` in some former USSR countries),
/// except where the leading `0` is part of the number itself (Italy, San Marino, the Vatican).
/// This is the numbering-plan knowledge normalization needs; it does not check that a number
/// exists or is assigned.
enum PhoneNumbers {
    static func e164(_ text: String, defaultCountry: String?) throws(IdentifierError) -> String {
        var body = Substring(text)
        var international = false
        if body.hasPrefix("+") {
            international = true
            body = body.dropFirst()
        }
        let digits = try IdentifierNormalization.digits(String(body), allowing: " -.()/")
        var number = digits
        if !international && number.hasPrefix("00") {
            international = true
            number.removeFirst(2)
        }
        if !international {
            guard let country = defaultCountry else {
                throw IdentifierError("phone_needs_country", "send the number in international form (+…); this tenant has no default country")
            }
            guard let plan = plans[country] else {
                throw IdentifierError("phone_needs_country", "no numbering plan is known for \(country); send the number in international form (+…)")
            }
            if let trunk = plan.trunkPrefix, number.hasPrefix(trunk) { number.removeFirst(trunk.count) }
            number = plan.callingCode + number
        }
        guard !number.hasPrefix("0"), (8...15).contains(number.count) else {
            throw IdentifierError("invalid_phone", "not a phone number (E.164 allows 8 to 15 digits with the country code)")
        }
        return "+" + number
    }

    struct Plan {
        let callingCode: String
        let trunkPrefix: String?
    }

    private static func plan(_ code: String, trunk: String? = "0") -> Plan { Plan(callingCode: code, trunkPrefix: trunk) }

    /// Calling codes and trunk prefixes by ISO 3166-1 alpha-2 country.
    static let plans: [String: Plan] = [
        // Europe
        "AD": plan("376", trunk: nil), "AL": plan("355"), "AT": plan("43"), "BA": plan("387"), "BE": plan("32"),
        "BG": plan("359"), "BY": plan("375", trunk: "8"), "CH": plan("41"), "CY": plan("357", trunk: nil), "CZ": plan("420", trunk: nil),
        "DE": plan("49"), "DK": plan("45", trunk: nil), "EE": plan("372", trunk: nil), "ES": plan("34", trunk: nil), "FI": plan("358"),
        "FO": plan("298", trunk: nil), "FR": plan("33"), "GB": plan("44"), "GI": plan("350", trunk: nil), "GR": plan("30", trunk: nil),
        "HR": plan("385"), "HU": plan("36", trunk: "06"), "IE": plan("353"), "IS": plan("354", trunk: nil), "IT": plan("39", trunk: nil),
        "LI": plan("423", trunk: nil), "LT": plan("370", trunk: "8"), "LU": plan("352", trunk: nil), "LV": plan("371", trunk: nil),
        "MC": plan("377", trunk: nil), "MD": plan("373"), "ME": plan("382"), "MK": plan("389"), "MT": plan("356", trunk: nil),
        "NL": plan("31"), "NO": plan("47", trunk: nil), "PL": plan("48", trunk: nil), "PT": plan("351", trunk: nil), "RO": plan("40"),
        "RS": plan("381"), "RU": plan("7", trunk: "8"), "SE": plan("46"), "SI": plan("386"), "SK": plan("421"),
        "SM": plan("378", trunk: nil), "TR": plan("90"), "UA": plan("380"), "VA": plan("39", trunk: nil), "XK": plan("383"),
        // Americas
        "US": plan("1", trunk: "1"), "CA": plan("1", trunk: "1"), "PR": plan("1", trunk: "1"), "MX": plan("52", trunk: nil),
        "AR": plan("54"), "BO": plan("591", trunk: "0"), "BR": plan("55"), "CL": plan("56", trunk: nil), "CO": plan("57", trunk: nil),
        "CR": plan("506", trunk: nil), "CU": plan("53"), "DO": plan("1", trunk: "1"), "EC": plan("593"), "GT": plan("502", trunk: nil),
        "HN": plan("504", trunk: nil), "NI": plan("505", trunk: nil), "PA": plan("507", trunk: nil), "PE": plan("51"),
        "PY": plan("595"), "SV": plan("503", trunk: nil), "UY": plan("598"), "VE": plan("58"),
        // Asia and the Middle East
        "AE": plan("971"), "BD": plan("880"), "CN": plan("86"), "HK": plan("852", trunk: nil), "ID": plan("62"), "IL": plan("972"),
        "IN": plan("91"), "JP": plan("81"), "KR": plan("82"), "KZ": plan("7", trunk: "8"), "LB": plan("961"), "MY": plan("60"),
        "PH": plan("63"), "PK": plan("92"), "QA": plan("974", trunk: nil), "SA": plan("966"), "SG": plan("65", trunk: nil),
        "TH": plan("66"), "TW": plan("886"), "VN": plan("84"), "JO": plan("962"), "KW": plan("965", trunk: nil), "OM": plan("968", trunk: nil),
        "BH": plan("973", trunk: nil), "LK": plan("94"), "NP": plan("977"),
        // Africa
        "DZ": plan("213"), "EG": plan("20"), "GH": plan("233"), "KE": plan("254"), "MA": plan("212"), "NG": plan("234"),
        "SN": plan("221", trunk: nil), "TN": plan("216", trunk: nil), "ZA": plan("27"), "CI": plan("225", trunk: nil), "ET": plan("251"),
        // Oceania
        "AU": plan("61"), "NZ": plan("64"),
    ]
}
