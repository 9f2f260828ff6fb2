//! Safe wrappers over ffi.rs: each handle is freed in Drop, each status code
//! becomes a Result carrying the library's message.
use crate::ffi;
use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::path::Path;
use std::ptr;

/// A libsparse failure: the status name and sparse_last_error().
#[derive(Debug)]
pub struct Error(pub String);

pub fn check(rc: i32) -> Result<(), Error> {
    if rc == ffi::SPARSE_OK {
        return Ok(());
    }
    unsafe {
        let name = CStr::from_ptr(ffi::sparse_strerror(rc)).to_string_lossy();
        let msg = CStr::from_ptr(ffi::sparse_last_error()).to_string_lossy();
        Err(Error(format!("{}: {}", name, msg)))
    }
}

pub fn version() -> String {
    unsafe { CStr::from_ptr(ffi::sparse_version()) }.to_string_lossy().into_owned()
}

fn cpath(p: &Path) -> CString {
    CString::new(p.to_string_lossy().as_bytes()).expect("path without NUL")
}

pub struct Arch(pub *mut ffi::SparseArch);
impl Arch {
    pub fn parse(yaml: &str) -> Result<Arch, Error> {
        let mut p = ptr::null_mut();
        let src = CString::new("inline.yaml").unwrap();
        check(unsafe { ffi::sparse_arch_parse_yaml(&mut p, yaml.as_ptr() as *const _, yaml.len(), src.as_ptr()) })?;
        Ok(Arch(p))
    }
    pub fn load(path: &Path) -> Result<Arch, Error> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::sparse_arch_load_yaml(&mut p, cpath(path).as_ptr()) })?;
        Ok(Arch(p))
    }
}
impl Drop for Arch {
    fn drop(&mut self) {
        unsafe { ffi::sparse_arch_free(self.0) }
    }
}

pub struct Dataset(pub *mut ffi::SparseDataset);
impl Dataset {
    pub fn from_memory(c: usize, h: usize, w: usize, images: &[f32], labels: &[i32], classes: usize) -> Result<Dataset, Error> {
        assert_eq!(images.len(), labels.len() * c * h * w);
        let mut p = ptr::null_mut();
        check(unsafe {
            ffi::sparse_dataset_from_memory(&mut p, labels.len(), c, h, w, images.as_ptr(), labels.as_ptr(), classes)
        })?;
        Ok(Dataset(p))
    }
    /// (train, validation, test) of a data spec (sparse_data_open), pixels as stored.
    pub fn open(spec: &Path, val_count: usize) -> Result<(Dataset, Dataset, Dataset), Error> {
        let mut o: ffi::SparseDataOptions = unsafe { std::mem::zeroed() };
        check(unsafe { ffi::sparse_data_options_init(&mut o, ffi::SPARSE_DATA_OPTIONS_VERSION) })?;
        o.val_count = val_count;
        o.normalize = 0;
        let (mut a, mut b, mut c) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        check(unsafe { ffi::sparse_data_open(&mut a, &mut b, &mut c, cpath(spec).as_ptr(), &o) })?;
        Ok((Dataset(a), Dataset(b), Dataset(c)))
    }
    pub fn len(&self) -> usize {
        unsafe { ffi::sparse_dataset_image_count(self.0) }
    }
    pub fn label(&self, i: usize) -> i32 {
        unsafe { ffi::sparse_dataset_label(self.0, i) }
    }
    /// Borrowed pixels of image i (C*H*W floats), valid while self lives.
    pub fn image(&self, i: usize) -> *const f32 {
        unsafe { ffi::sparse_dataset_image(self.0, i) }
    }
}
impl Drop for Dataset {
    fn drop(&mut self) {
        unsafe { ffi::sparse_dataset_free(self.0) }
    }
}

pub struct Net(pub *mut ffi::SparseNet);
impl Net {
    pub fn new(arch: &Arch, max_batch: usize, seed: u64) -> Result<Net, Error> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::sparse_net_create(&mut p, arch.0, max_batch, seed) })?;
        Ok(Net(p))
    }
    /// Trains with the library's default options (NULL options).
    pub fn train(&mut self, data: &Dataset) -> Result<(), Error> {
        check(unsafe { ffi::sparse_net_train(self.0, data.0, ptr::null(), ptr::null_mut()) })
    }
    pub fn accuracy(&mut self, data: &Dataset) -> Result<f64, Error> {
        let mut acc = 0.0;
        check(unsafe { ffi::sparse_net_evaluate(self.0, data.0, &mut acc) })?;
        Ok(acc)
    }
    /// The class of image i of data (sparse_net_predict, one image).
    pub fn predict(&mut self, data: &Dataset, i: usize) -> Result<i32, Error> {
        let mut label: c_int = -1;
        check(unsafe { ffi::sparse_net_predict(self.0, data.image(i), ptr::null_mut(), &mut label) })?;
        Ok(label)
    }
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        check(unsafe { ffi::sparse_net_save(self.0, cpath(path).as_ptr()) })
    }
    pub fn load(&mut self, path: &Path) -> Result<(), Error> {
        check(unsafe { ffi::sparse_net_load(self.0, cpath(path).as_ptr(), 0) })
    }
    pub fn nonzero_count(&self) -> usize {
        unsafe { ffi::sparse_net_nonzero_count(self.0) }
    }
    /// (MS, WM5, WM6) in bytes at int8, as the paper defines them.
    pub fn memory(&self) -> Result<(u64, u64, u64), Error> {
        let mut r = ptr::null_mut();
        check(unsafe { ffi::sparse_memreport_from_net(&mut r, self.0, ptr::null()) })?;
        let (mut ms, mut wm5, mut wm6, mut layer) = (0u64, 0u64, 0u64, 0usize);
        let rc = unsafe {
            let mut rc = ffi::sparse_memreport_ms_bytes(r, &mut ms);
            if rc == 0 {
                rc = ffi::sparse_memreport_wm_bytes(r, 5, &mut wm5, &mut layer);
            }
            if rc == 0 {
                rc = ffi::sparse_memreport_wm_bytes(r, 6, &mut wm6, &mut layer);
            }
            ffi::sparse_memreport_free(r);
            rc
        };
        check(rc)?;
        Ok((ms, wm5, wm6))
    }
}
impl Drop for Net {
    fn drop(&mut self) {
        unsafe { ffi::sparse_net_free(self.0) }
    }
}

pub struct SearchConfig(*mut ffi::SparseSearchConfig);
impl SearchConfig {
    pub fn load(path: &Path) -> Result<SearchConfig, Error> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::sparse_search_config_load(&mut p, cpath(path).as_ptr()) })?;
        Ok(SearchConfig(p))
    }
}
impl Drop for SearchConfig {
    fn drop(&mut self) {
        unsafe { ffi::sparse_search_config_free(self.0) }
    }
}

/// The C callback: hands the event to the Rust closure behind `user`.
unsafe extern "C" fn trial_trampoline<F: FnMut(&ffi::SparseTrialEvent) -> bool>(
    user: *mut c_void, ev: *const ffi::SparseTrialEvent) -> c_int {
    let f = &mut *(user as *mut F);
    // A panic must not unwind into C: it stops the search instead.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&*ev))) {
        Ok(true) => 0,
        _ => 1,
    }
}

/// Runs a search into out_dir; on_trial gets every finished trial and
/// returns false to stop the search cleanly (resumably).
pub fn search<F: FnMut(&ffi::SparseTrialEvent) -> bool>(cfg: &SearchConfig, out_dir: &Path, mut on_trial: F) -> Result<(), Error> {
    let mut o: ffi::SparseSearchOptions = unsafe { std::mem::zeroed() };
    check(unsafe { ffi::sparse_search_options_init(&mut o, ffi::SPARSE_SEARCH_OPTIONS_VERSION) })?;
    o.on_trial = Some(trial_trampoline::<F>);
    o.user = &mut on_trial as *mut F as *mut c_void;
    check(unsafe { ffi::sparse_search_run(cfg.0, cpath(out_dir).as_ptr(), &o) })
}

pub struct Run(*mut ffi::SparseRun);
impl Run {
    pub fn open(dir: &Path) -> Result<Run, Error> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::sparse_run_open(&mut p, cpath(dir).as_ptr()) })?;
        Ok(Run(p))
    }
    pub fn trial_count(&self) -> usize {
        unsafe { ffi::sparse_run_trial_count(self.0) }
    }
    /// Ids of the trials on the Pareto front.
    pub fn pareto(&self) -> Result<Vec<usize>, Error> {
        let mut ids = vec![0usize; self.trial_count().max(1)];
        let mut n = 0usize;
        check(unsafe { ffi::sparse_run_pareto(self.0, ids.as_mut_ptr(), &mut n) })?;
        ids.truncate(n);
        Ok(ids)
    }
    pub fn value(&self, id: usize, field: c_int) -> Result<f64, Error> {
        let mut v = 0.0;
        check(unsafe { ffi::sparse_run_trial_value(self.0, id, field, &mut v) })?;
        Ok(v)
    }
}
impl Drop for Run {
    fn drop(&mut self) {
        unsafe { ffi::sparse_run_free(self.0) }
    }
}
