// @peculiar/x509 needs a Reflect metadata polyfill loaded before it (tsyringe checks at import time);
// every module in this project imports the library through this file.
import 'reflect-metadata';
export * from '@peculiar/x509';
