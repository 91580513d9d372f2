//! The kind of fact a question asks for (an amount of money, an identifier such as an email
//! address or a code, another quantity, or none of these) and whether a piece of text states one.
//! The sentence selection prefers the sentences that state what was asked; the decision can
//! notice when none of the passages does ("how much is the parking fee?" over rules that mention
//! parking but give no amount). Numbers that only name a place in the documents — 제3조, 제2항,
//! 별표 1, Section 4 — are not quantities.

/// The kind of fact a question asks for, as far as its words tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// How much money: an amount, or a share of one ("2분의 1", "80%").
    Money,
    /// An email address, a phone number, a code or a link ("who do I email", "employer code").
    Identifier,
    /// How many, how long, when, until when, what age, what percentage.
    Quantity,
    Other,
}

/// Narrow on purpose: "my work phone was stolen" or "the code of conduct" ask for no identifier.
const EN_IDENTIFIER: [&str; 14] = [
    "email address",
    "who do i email",
    "who should i email",
    "what email",
    "which email",
    "phone number",
    "what code",
    "which code",
    "employer code",
    "code for",
    " url",
    "website",
    "link to",
    "extension number",
];
const KO_IDENTIFIER: [&str; 7] = [
    "이메일",
    "전화번호",
    "연락처",
    "코드",
    "링크",
    "홈페이지",
    "메일 주소",
];

const EN_QUANTITY: [&str; 18] = [
    "how many",
    "how much",
    "how long",
    "how far",
    "how often",
    "how soon",
    "what day",
    "what date",
    "what age",
    "which months",
    "when ",
    "deadline",
    "maximum",
    "max ",
    "limit",
    "percent",
    "amount",
    "what time",
];
const KO_QUANTITY: [&str; 10] = [
    "며칠", "몇", "얼마", "언제", "기한", "까지", "최대", "최소", "몇 살", "이내",
];
const EN_MONEY: [&str; 18] = [
    "$",
    "dollar",
    "euro",
    "fee",
    "cost",
    "price",
    "stipend",
    "bonus",
    "allowance",
    "salary",
    "budget",
    "severance",
    "per diem",
    "reimburs",
    "money",
    "spend",
    "how much do they pay",
    "how much will i be paid",
];
/// "얼마" asks for an amount unless it asks how long ("얼마 동안", "얼마나 걸려요").
const KO_NOT_MONEY: [&str; 6] = [
    "얼마 동안",
    "얼마동안",
    "얼마나 오래",
    "얼마나 걸",
    "얼마 전",
    "얼마 후",
];
/// A unit after 몇 asks for an amount; after a number it gives one ("위약금 300만원 낸다는 각서를
/// 썼는데 유효한가요?" asks whether that is allowed, not how much).
const KO_MONEY: [&str; 10] = [
    "금액",
    "몇 원",
    "몇원",
    "몇 만원",
    "몇만원",
    "몇 만 원",
    "몇 천원",
    "몇천원",
    "몇 달러",
    "몇달러",
];
/// Endings of Korean nouns that name money (여비, 지원금, 이용료, 시간외근무수당, 월급): "얼마나"
/// asks for an amount only beside one of them ("병가가 얼마나 되나요" asks how long).
const KO_MONEY_NOUN_ENDINGS: [&str; 10] = [
    "비", "금", "료", "수당", "임금", "급여", "월급", "연봉", "보수", "요금",
];
/// Nouns with those endings that are no money.
const KO_NOT_MONEY_NOUNS: [&str; 19] = [
    "지금", "방금", "조금", "준비", "대비", "장비", "설비", "예비", "정비", "구비", "종료", "완료",
    "동료", "치료", "진료", "자료", "재료", "수료", "연료",
];

/// Whether a Korean word, its particle aside, names money.
fn names_money(word: &str) -> bool {
    let noun = ["은", "는", "이", "가", "을", "를", "도", "으로", "로"]
        .iter()
        .find_map(|p| word.strip_suffix(p).filter(|n| n.chars().count() >= 2))
        .unwrap_or(word);
    noun.chars().count() >= 2
        && KO_MONEY_NOUN_ENDINGS.iter().any(|e| noun.ends_with(e))
        && !KO_NOT_MONEY_NOUNS.iter().any(|n| noun.ends_with(n))
}

pub fn asked(question: &str) -> Asked {
    let q = question.to_lowercase();
    let quantity =
        EN_QUANTITY.iter().any(|w| q.contains(w)) || KO_QUANTITY.iter().any(|w| q.contains(w));
    let what_is = ["what's ", "whats ", "what is ", "what are "]
        .iter()
        .any(|w| q.contains(w));
    // A money word in "how soon must I file the reimbursement" does not ask for an amount.
    let asks_amount = what_is
        || ["how much", "amount", "max ", "maximum", "limit"]
            .iter()
            .any(|w| q.contains(w));
    let en_money = EN_MONEY.iter().any(|w| q.contains(w)) && asks_amount;
    // "얼마예요", "얼마까지" ask for an amount; "얼마나" for one only beside a money noun.
    let how_much = q.contains("얼마") && !KO_NOT_MONEY.iter().any(|w| q.contains(w));
    let how_much_money = !q.contains("얼마나") || q.split_whitespace().any(names_money);
    let ko_money = (how_much && how_much_money) || KO_MONEY.iter().any(|w| q.contains(w));
    let identifier =
        EN_IDENTIFIER.iter().any(|w| q.contains(w)) || KO_IDENTIFIER.iter().any(|w| q.contains(w));
    if en_money || ko_money {
        Asked::Money
    } else if identifier {
        Asked::Identifier
    } else if quantity {
        Asked::Quantity
    } else {
        Asked::Other
    }
}

/// The quantities a text states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stated {
    pub money: bool,
    /// A fraction or percentage ("2분의 1", "80%", "half").
    pub share: bool,
    /// Any quantity with its unit (money and shares included): "4 hours", "60일", "twice".
    pub quantity: bool,
    /// An email address, a link, a phone number or a code of four or more digits.
    pub identifier: bool,
}

impl Stated {
    /// Whether the text states the kind of fact asked for (a question asking for nothing in
    /// particular is answered by anything).
    pub fn answers(self, asked: Asked) -> bool {
        match asked {
            Asked::Money => self.money || self.share,
            Asked::Identifier => self.identifier,
            Asked::Quantity => self.quantity,
            Asked::Other => true,
        }
    }
}

const KO_MONEY_UNITS: [&str; 5] = ["원", "달러", "유로", "엔", "불"];
const KO_SHARE_UNITS: [&str; 3] = ["퍼센트", "%", "분의"];
const KO_UNITS: [&str; 24] = [
    "일", "시간", "주", "개월", "달", "월", "년", "세", "살", "회", "번", "명", "분", "초", "박",
    "배", "km", "킬로", "시", "급", "호봉", "층", "건", "차례",
];
/// Magnitudes between a Korean number and its unit: 10만원, 1천만 원.
const KO_MAGNITUDES: [char; 5] = ['십', '백', '천', '만', '억'];
const KO_NUMBER_WORDS: [&str; 16] = [
    "하루",
    "이틀",
    "사흘",
    "나흘",
    "닷새",
    "엿새",
    "이레",
    "열흘",
    "보름",
    "일주일",
    "한 달",
    "두 달",
    "석 달",
    "반나절",
    "한 번",
    "두 번",
];
/// Words before a number that make it a place in the documents, not a quantity.
const EN_REFERENCES: [&str; 9] = [
    "section", "sections", "article", "chapter", "part", "§", "u.s.c.", "cfr", "step",
];
const EN_MONEY_UNITS: [&str; 6] = ["dollars", "dollar", "usd", "euros", "eur", "cents"];
const EN_SHARE_UNITS: [&str; 2] = ["percent", "%"];
const EN_UNITS: [&str; 40] = [
    "day",
    "days",
    "hour",
    "hours",
    "hrs",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "minute",
    "minutes",
    "mins",
    "second",
    "seconds",
    "time",
    "times",
    "night",
    "nights",
    "mile",
    "miles",
    "km",
    "am",
    "pm",
    "a.m.",
    "p.m.",
    "employees",
    "people",
    "business",
    "calendar",
    "working",
    "consecutive",
    "pay",
    "weeks'",
    "days'",
    "paid",
    "sessions",
    "credits",
    "members",
];
const EN_NUMBER_WORDS: [&str; 16] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "sixty",
];

/// The numbers written in digits in `text` ("1,200" as "1200"): a question's, for
/// `stated_beyond`.
pub fn numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == ','))
        .map(|n| n.replace(',', ""))
        .filter(|n| !n.is_empty())
        .collect()
}

/// What quantities `text` states besides the numbers the question itself `given` (see `numbers`):
/// "I worked 180 hours, how much leave is that?" is not answered by a sentence that repeats
/// "180 hours".
pub fn stated_beyond(text: &str, given: &[String]) -> Stated {
    let mut s = Stated::default();
    let lower = text.to_lowercase();
    if lower.contains("분의") || lower.contains('%') || lower.contains("절반") {
        s.share = true;
    }
    if ["half", "percent", "per cent"]
        .iter()
        .any(|w| has_word(&lower, w))
    {
        s.share = true;
    }
    if KO_NUMBER_WORDS.iter().any(|w| lower.contains(w))
        || ["once", "twice"].iter().any(|w| has_word(&lower, w))
        || states_number_word(&lower)
    {
        s.quantity = true;
    }
    s.identifier = lower.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.contains("http")
            || w.starts_with("www.")
            || w.split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
    });
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].1.is_ascii_digit() || matches!(chars[j].1, ',' | '.' | '~' | '-'))
        {
            // A trailing "." ends a sentence or a Korean date part, not the number.
            if matches!(chars[j].1, '.' | ',' | '~' | '-')
                && !chars.get(j + 1).is_some_and(|n| n.1.is_ascii_digit())
            {
                break;
            }
            j += 1;
        }
        let end = chars.get(j).map_or(lower.len(), |c| c.0);
        let number = &lower[start..end];
        let (before, after) = (&lower[..start], &lower[end..]);
        if !given.contains(&number.replace(',', "")) && !names_a_place(before, after) {
            classify_number(before, after, &mut s);
            // A code or a phone number: four or more digits that are not a year.
            let digits = number.chars().filter(char::is_ascii_digit).count();
            let year = digits == 4 && (number.starts_with("19") || number.starts_with("20"));
            if digits >= 4 && !year && !number.contains(',') {
                s.identifier = true;
            }
        }
        i = j.max(i + 1);
    }
    if s.money || s.share {
        s.quantity = true;
    }
    s
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .any(|w| w.trim_end_matches('.') == word)
}

/// Add what one number states, given the text before and after it.
/// Whether a number names a place in the documents: 제3조, 제2항, 법률 제12345호, 별표 2, 3조,
/// Section 4.
fn names_a_place(before: &str, after: &str) -> bool {
    let before_trim = before.trim_end();
    let previous_word = before_trim
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let rest = after.trim_start();
    before.ends_with('제')
        || before_trim.ends_with("별표")
        || before_trim.ends_with("별지")
        || EN_REFERENCES.contains(&previous_word)
        || (["조", "항", "호", "장", "절", "편", "관", "목"]
            .iter()
            .any(|u| rest.starts_with(u))
            && !rest.starts_with("호봉"))
}

/// Add what one number (not a place in the documents) states, given the text before and after.
fn classify_number(before: &str, after: &str, s: &mut Stated) {
    if before.trim_end().ends_with(['$', '€', '£', '₩']) {
        s.money = true;
        return;
    }
    // 7th, 1st, 22nd: a date.
    if ["st", "nd", "rd", "th"].iter().any(|o| {
        after
            .strip_prefix(o)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_alphabetic()))
    }) {
        s.quantity = true;
        return;
    }
    let rest = after.trim_start();
    // Korean: the unit follows at once or after a space, magnitudes first (10만원, 1천 명).
    let ko = rest.trim_start_matches(|c: char| KO_MAGNITUDES.contains(&c) || c == ' ');
    if KO_MONEY_UNITS.iter().any(|u| ko.starts_with(u)) {
        s.money = true;
        return;
    }
    if KO_SHARE_UNITS.iter().any(|u| rest.starts_with(u)) {
        s.share = true;
        return;
    }
    if KO_UNITS.iter().any(|u| ko.starts_with(u)) {
        s.quantity = true;
        return;
    }
    // English: a unit among the next two words ("20 days", "10 paid holidays", "4 hours").
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == '/' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .take(2)
        .map(|w| w.trim_end_matches([',', ';', ':', '.']))
        .collect();
    if let Some(first) = words.first() {
        if EN_MONEY_UNITS.contains(first) {
            s.money = true;
            return;
        }
        if EN_SHARE_UNITS.contains(first) {
            s.share = true;
            return;
        }
    }
    if words.iter().any(|w| {
        EN_UNITS.contains(w)
            || w.strip_suffix("-day").is_some()
            || w.strip_suffix("-hour").is_some()
            || w.strip_suffix("-week").is_some()
            || w == &"holidays"
            || w == &"holiday"
    }) {
        s.quantity = true;
    }
}

/// A number word with a unit among the next two words ("two weeks", "one blog / month")
/// states a quantity too.
fn states_number_word(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_unit = |w: &&str| EN_UNITS.contains(w) || *w == "holidays" || *w == "dollars";
    words
        .iter()
        .enumerate()
        .any(|(i, w)| EN_NUMBER_WORDS.contains(w) && words.iter().skip(i + 1).take(2).any(is_unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `text` states, with no numbers given by a question.
    fn stated(text: &str) -> Stated {
        stated_beyond(text, &[])
    }

    #[test]
    fn questions_ask_for_money_another_quantity_or_neither() {
        assert_eq!(asked("How many weeks of leave?"), Asked::Quantity);
        assert_eq!(asked("병가는 며칠까지 쓸 수 있어요?"), Asked::Quantity);
        assert_eq!(asked("who triages the reports?"), Asked::Other);
        assert_eq!(
            asked("What's the parking fee at headquarters?"),
            Asked::Money
        );
        assert_eq!(asked("how much is the relocation bonus"), Asked::Money);
        assert_eq!(
            asked("how much vacation time do i build up"),
            Asked::Quantity
        );
        assert_eq!(asked("출장 일비는 하루에 몇 만원이에요?"), Asked::Money);
        assert_eq!(asked("해외 일비는 하루 몇 달러예요?"), Asked::Money);
        // An amount the question gives is not asked for.
        assert_eq!(
            asked("위약금 300만원 낸다는 각서를 썼는데 이거 유효한가요?"),
            Asked::Other
        );
        assert_eq!(asked("50달러짜리 선물은 받아도 돼요?"), Asked::Other);
        assert_eq!(asked("회사 동호회 지원금은 얼마인가요?"), Asked::Money);
        assert_eq!(asked("연차는 얼마 동안 쓸 수 있어요?"), Asked::Quantity);
        assert_eq!(
            asked("8시간 일하면 쉬는시간은 얼마나 줘야 하나요?"),
            Asked::Quantity
        );
        assert_eq!(asked("병가가 얼마나 되나요?"), Asked::Quantity);
        assert_eq!(asked("가족여비는 얼마나 나와요?"), Asked::Money);
        assert_eq!(asked("학자금 지원은 얼마나 나와요?"), Asked::Money);
        assert_eq!(asked("준비 기간은 얼마나 줘요?"), Asked::Quantity);
        assert_eq!(asked("치료는 얼마나 받을 수 있어요?"), Asked::Quantity);
        assert_eq!(asked("Is there a home office stipend?"), Asked::Other);
        assert_eq!(
            asked("how soon do I need to submit a reimbursement request?"),
            Asked::Quantity
        );
    }

    #[test]
    fn amounts_shares_and_durations_are_told_apart() {
        let money = stated("The stipend is $500 a year.");
        assert!(money.money && money.quantity);
        assert!(stated("1일 2만원을 지급한다.").money);
        assert!(stated("10만 원 이하").money);
        assert!(stated("연가보상비의 2분의 1").share);
        assert!(stated("80% of your salary").share);
        let days = stated("연 60일의 범위에서 병가를 승인할 수 있다.");
        assert!(days.quantity && !days.money && !days.share);
        assert!(stated("Full-time employees earn 4 hours each pay period.").quantity);
        assert!(stated("You get 10 paid holidays.").quantity);
        assert!(stated("You can claim it twice a year.").quantity);
        assert!(stated("출장이 이틀 늘어난 경우").quantity);
        assert!(stated("up to two weeks in a row").quantity);
        assert!(stated("Write one blog / month.").quantity);
        assert!(stated("Salaries are paid on the 7th of every month.").quantity);
    }

    #[test]
    fn the_numbers_of_the_question_are_not_an_answer() {
        let q = "I worked 180 hours last month, how many hours of paid leave is that";
        assert!(!stated_beyond("If you've worked for 180 hours/month.", &numbers(q)).quantity);
        assert!(stated_beyond("You get 18 hours of paid leave a month.", &numbers(q)).quantity);
        assert!(!stated_beyond("$1,200 or 1,200 dollars", &numbers("a $1200 monitor")).money);
        assert!(stated_beyond("up to $1,500", &numbers("a $1200 monitor")).money);
    }

    #[test]
    fn identifiers_are_asked_for_and_found() {
        assert_eq!(
            asked("What's GSA's employer code for the Work Number?"),
            Asked::Identifier
        );
        assert_eq!(asked("who do I email if I'm harassed"), Asked::Identifier);
        assert_eq!(asked("인사팀 연락처가 어떻게 돼요?"), Asked::Identifier);
        assert_eq!(
            asked("someone stole my work phone, what should I do?"),
            Asked::Other
        );
        assert_eq!(asked("where is the code of conduct?"), Asked::Other);
        assert!(stated("GSA's TWN Employer Code is 10536").identifier);
        assert!(stated("Write to antiharassment@hackerbay.io.").identifier);
        assert!(stated("see https://example.org/form").identifier);
        assert!(stated("전화 02-2100-1234").identifier);
        assert!(!stated("Since 2019, leave is 20 days.").identifier);
        assert!(!stated("at least 1,000 dollars").identifier);
    }

    #[test]
    fn references_to_articles_are_not_quantities() {
        for text in [
            "제15조제1항에 따른 시간외근무수당을 지급한다.",
            "별표 2에 따른 일비를 지급한다.",
            "See Section 4 of the policy.",
            "법률 제12345호로 개정",
            "Someone from People Ops will help.",
        ] {
            assert_eq!(stated(text), Stated::default(), "{text}");
        }
    }

    #[test]
    fn a_question_is_answered_by_the_kind_it_asks_for() {
        let days = stated("연 60일의 범위에서");
        assert!(days.answers(Asked::Quantity));
        assert!(!days.answers(Asked::Money));
        assert!(stated("2분의 1을 지급").answers(Asked::Money));
        assert!(Stated::default().answers(Asked::Other));
        assert!(!Stated::default().answers(Asked::Quantity));
    }
}
