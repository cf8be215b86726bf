//! One tab at a time per device: the browser's Web Locks. Two tabs of the
//! same stream page share the session, and with it the device's encryption
//! keys in IndexedDB; two Matrix clients using one device's keys at once
//! would break its encrypted sessions. So only the tab holding the lock
//! syncs private rooms; another waits and takes over when that tab closes.
//! (`web-sys` marks Web Locks unstable, so the calls go through `Reflect`.)

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Holds the lock until dropped.
pub struct TabLock {
    /// Resolves the promise the lock's callback returned: the browser then
    /// releases the lock.
    release: Option<Function>,
}

impl Drop for TabLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

/// Waits for the browser-wide lock `name`. `waiting` is called if another
/// tab holds it (checked first, without waiting). Browsers without Web
/// Locks (or pages that are not a secure context) get no lock: the tab
/// goes ahead.
pub async fn acquire(name: &str, waiting: impl FnOnce()) -> TabLock {
    let Some(locks) = locks() else {
        return TabLock { release: None };
    };
    let Ok(request) = Reflect::get(&locks, &"request".into()) else {
        return TabLock { release: None };
    };
    let Some(request) = request.dyn_ref::<Function>() else {
        return TabLock { release: None };
    };
    if !try_now(&locks, request, name).await {
        waiting();
    }
    // The lock is held while the promise its callback returned is pending.
    let mut release = None;
    let held = Promise::new(&mut |resolve, _| release = Some(resolve));
    let mut granted_resolve = None;
    let granted = Promise::new(&mut |resolve, _| granted_resolve = Some(resolve));
    let granted_resolve = granted_resolve.unwrap_or_else(|| Function::new_no_args(""));
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let _ = granted_resolve.call0(&JsValue::NULL);
        held.into()
    });
    if request.call2(&locks, &name.into(), &callback).is_err() {
        return TabLock { release: None };
    }
    let _ = JsFuture::from(granted).await;
    TabLock { release }
}

fn locks() -> Option<JsValue> {
    let window: JsValue = web_sys::window()?.into();
    let navigator = Reflect::get(&window, &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Whether the lock is free right now (taken and let go at once).
async fn try_now(locks: &JsValue, request: &Function, name: &str) -> bool {
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    let probe =
        Closure::once_into_js(|lock: JsValue| -> JsValue { JsValue::from_bool(!lock.is_null()) });
    match request.call3(locks, &name.into(), &options, &probe) {
        Ok(p) => match p.dyn_into::<Promise>() {
            Ok(p) => JsFuture::from(p).await.is_ok_and(|v| v.is_truthy()),
            Err(_) => true,
        },
        Err(_) => true,
    }
}
