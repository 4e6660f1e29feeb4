export { attachExceptions, readValueList, type Attached, type ExceptionSources } from './attach.js';
export { compileExceptions, NO_EXCEPTIONS, wildcardTest, type CompiledExceptions, type ValueLists } from './compile.js';
export { isExceptionLine, readKibanaExceptions, type KibanaExceptions } from './kibana.js';
export { listRefSchema, type Entry, type ExceptionItem, type ExceptionList, type ExceptionListRef } from './model.js';
export { EXCEPTIONS_FILE, readNativeExceptions, type NativeExceptions } from './native.js';
