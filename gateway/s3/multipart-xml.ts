// The XML of multipart upload and copy (pure): the CompleteMultipartUpload request body, and the
// InitiateMultipartUpload, CompleteMultipartUpload, ListParts, ListMultipartUploads, CopyObject and
// UploadPartCopy results.
import type { MultipartUploadInfo, PartInfo } from '../backend/types.ts';
import { MalformedXML } from '../errors.ts';
import { s3UrlEncode } from './list-params.ts';
import { parseXmlBody, renderDocument } from './xml.ts';
import type { XmlNode } from './xml.ts';
import type { RequestedPart } from './multipart-complete.ts';

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** CompleteMultipartUpload body → the listed parts, in the order given (order is checked later). */
export function parseCompleteMultipartUpload(text: string): RequestedPart[] {
  const document = parseXmlBody(text);
  const root = document.CompleteMultipartUpload;
  if (root === undefined) throw MalformedXML('expected a CompleteMultipartUpload element');
  if (root === '' || root === null) return [];
  if (typeof root !== 'object') throw MalformedXML('CompleteMultipartUpload must contain Part elements');
  return asList((root as Record<string, unknown>).Part).map((part) => {
    if (part === null || typeof part !== 'object') throw MalformedXML('Part must contain elements');
    const { PartNumber, ETag } = part as Record<string, unknown>;
    if (typeof PartNumber !== 'string' || !/^\d{1,9}$/.test(PartNumber))
      throw MalformedXML('every Part needs a numeric PartNumber');
    if (typeof ETag !== 'string' || ETag === '') throw MalformedXML('every Part needs an ETag');
    return { partNumber: Number(PartNumber), etag: ETag };
  });
}

function ownerNode(name: 'Owner' | 'Initiator', accountId: string): XmlNode {
  return [name, ['ID', accountId], ['DisplayName', accountId]];
}

export function initiateMultipartUploadXml(upload: {
  bucket: string;
  key: string;
  uploadId: string;
}): string {
  return renderDocument([
    'InitiateMultipartUploadResult',
    ['Bucket', upload.bucket],
    ['Key', upload.key],
    ['UploadId', upload.uploadId],
  ]);
}

export function completeMultipartUploadXml(result: {
  location: string;
  bucket: string;
  key: string;
  etag: string;
}): string {
  return renderDocument([
    'CompleteMultipartUploadResult',
    ['Location', result.location],
    ['Bucket', result.bucket],
    ['Key', result.key],
    ['ETag', result.etag],
  ]);
}

export interface ListPartsDocument {
  bucket: string;
  key: string;
  uploadId: string;
  owner: string;
  partNumberMarker: number;
  nextPartNumberMarker?: number;
  maxParts: number;
  isTruncated: boolean;
  parts: readonly PartInfo[];
}

export function listPartsXml(doc: ListPartsDocument): string {
  return renderDocument([
    'ListPartsResult',
    ['Bucket', doc.bucket],
    ['Key', doc.key],
    ['UploadId', doc.uploadId],
    ownerNode('Initiator', doc.owner),
    ownerNode('Owner', doc.owner),
    ['StorageClass', 'STANDARD'],
    ['PartNumberMarker', doc.partNumberMarker],
    doc.nextPartNumberMarker === undefined ? undefined : ['NextPartNumberMarker', doc.nextPartNumberMarker],
    ['MaxParts', doc.maxParts],
    ['IsTruncated', doc.isTruncated],
    ...doc.parts.map((part): XmlNode => [
      'Part',
      ['PartNumber', part.partNumber],
      ['LastModified', part.lastModified.toISOString()],
      ['ETag', part.etag],
      ['Size', part.size],
    ]),
  ]);
}

export interface ListUploadsDocument {
  bucket: string;
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  maxUploads: number;
  encodeUrl: boolean;
  isTruncated: boolean;
  uploads: readonly MultipartUploadInfo[];
  commonPrefixes: readonly string[];
}

export function listMultipartUploadsXml(doc: ListUploadsDocument): string {
  const encode = doc.encodeUrl ? s3UrlEncode : (s: string): string => s;
  return renderDocument([
    'ListMultipartUploadsResult',
    ['Bucket', doc.bucket],
    ['KeyMarker', encode(doc.keyMarker)],
    ['UploadIdMarker', doc.uploadIdMarker],
    doc.nextKeyMarker === undefined ? undefined : ['NextKeyMarker', encode(doc.nextKeyMarker)],
    doc.nextUploadIdMarker === undefined ? undefined : ['NextUploadIdMarker', doc.nextUploadIdMarker],
    doc.encodeUrl ? ['EncodingType', 'url'] : undefined,
    ['Prefix', encode(doc.prefix)],
    doc.delimiter === '' ? undefined : ['Delimiter', encode(doc.delimiter)],
    ['MaxUploads', doc.maxUploads],
    ['IsTruncated', doc.isTruncated],
    ...doc.uploads.map((upload): XmlNode => [
      'Upload',
      ['Key', encode(upload.key)],
      ['UploadId', upload.uploadId],
      ownerNode('Initiator', upload.owner),
      ownerNode('Owner', upload.owner),
      ['StorageClass', 'STANDARD'],
      ['Initiated', upload.initiated.toISOString()],
    ]),
    ...doc.commonPrefixes.map((prefix): XmlNode => ['CommonPrefixes', ['Prefix', encode(prefix)]]),
  ]);
}

/** CopyObjectResult (CopyObject) or CopyPartResult (UploadPartCopy). */
export function copyResultXml(
  root: 'CopyObjectResult' | 'CopyPartResult',
  result: { etag: string; lastModified: Date },
): string {
  return renderDocument([root, ['LastModified', result.lastModified.toISOString()], ['ETag', result.etag]]);
}
